# Deploys the functions and layers of one module's manifest (see README, "Terraform").
terraform {
  required_version = ">= 1.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 4.64"
    }
  }
}

locals {
  manifest = jsondecode(file(var.manifest_path))
  module   = local.manifest.module
  use_s3   = var.s3_bucket != null
}

resource "aws_iam_role" "lambda" {
  name = "${var.name_prefix}${local.module}-lambda"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "logs" {
  role       = aws_iam_role.lambda.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

# Only with var.s3_bucket: the key holds the content hash, so a changed ZIP is a new object.
resource "aws_s3_object" "layer" {
  for_each = local.use_s3 ? local.manifest.layers : {}

  bucket = var.s3_bucket
  key    = "${var.s3_key_prefix}${local.module}/layers/${each.key}-${each.value.sha256}.zip"
  source = "${var.artifacts_root}/${each.value.filename}"
}

resource "aws_s3_object" "function" {
  for_each = local.use_s3 ? local.manifest.functions : {}

  bucket = var.s3_bucket
  key    = "${var.s3_key_prefix}${local.module}/functions/${each.key}-${each.value.sha256}.zip"
  source = "${var.artifacts_root}/${each.value.filename}"
}

resource "aws_lambda_layer_version" "this" {
  for_each = local.manifest.layers

  layer_name               = "${var.name_prefix}${local.module}-${each.key}"
  filename                 = local.use_s3 ? null : "${var.artifacts_root}/${each.value.filename}"
  s3_bucket                = local.use_s3 ? var.s3_bucket : null
  s3_key                   = local.use_s3 ? aws_s3_object.layer[each.key].key : null
  source_code_hash         = each.value.source_code_hash
  compatible_runtimes      = each.value.compatible_runtimes
  compatible_architectures = each.value.compatible_architectures
}

resource "aws_lambda_function" "this" {
  for_each = local.manifest.functions

  function_name    = "${var.name_prefix}${local.module}-${each.key}"
  role             = aws_iam_role.lambda.arn
  handler          = each.value.handler
  runtime          = each.value.runtime
  architectures    = each.value.architectures
  filename         = local.use_s3 ? null : "${var.artifacts_root}/${each.value.filename}"
  s3_bucket        = local.use_s3 ? var.s3_bucket : null
  s3_key           = local.use_s3 ? aws_s3_object.function[each.key].key : null
  source_code_hash = each.value.source_code_hash
  layers           = [for layer in each.value.layers : aws_lambda_layer_version.this[layer].arn]
  memory_size      = var.memory_size
  timeout          = var.timeout

  dynamic "environment" {
    for_each = length(var.environment) > 0 ? [var.environment] : []
    content {
      variables = environment.value
    }
  }

  depends_on = [aws_iam_role_policy_attachment.logs]
}
