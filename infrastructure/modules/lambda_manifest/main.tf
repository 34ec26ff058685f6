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
  # Through S3: every artifact when var.s3_bucket is set, else those whose target says
  # upload="s3" (over Lambda's 50 MB direct-upload limit).
  s3_layers = {
    for name, layer in local.manifest.layers : name => layer
    if var.s3_bucket != null || lookup(layer, "upload", "direct") == "s3"
  }
  s3_functions = {
    for name, function in local.manifest.functions : name => function
    if var.s3_bucket != null || lookup(function, "upload", "direct") == "s3"
  }
  # Terraform 1.0 has no preconditions: an artifact that needs S3 without a bucket fails the plan.
  s3_bucket = var.s3_bucket != null ? var.s3_bucket : file("ERROR: the manifest ${var.manifest_path} has artifacts with upload = \"s3\": set the module's s3_bucket")
  settings  = module.settings.functions
}

# Each function's memory, timeout, environment, ephemeral storage and SnapStart: its target's
# fields, else this module's defaults.
module "settings" {
  source = "./settings"

  functions   = local.manifest.functions
  memory_size = var.memory_size
  timeout     = var.timeout
  environment = var.environment
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

# The key holds the content hash, so a changed ZIP is a new object.
resource "aws_s3_object" "layer" {
  for_each = local.s3_layers

  bucket = local.s3_bucket
  key    = "${var.s3_key_prefix}${local.module}/layers/${each.key}-${each.value.sha256}.zip"
  source = "${var.artifacts_root}/${each.value.filename}"
}

resource "aws_s3_object" "function" {
  for_each = local.s3_functions

  bucket = local.s3_bucket
  key    = "${var.s3_key_prefix}${local.module}/functions/${each.key}-${each.value.sha256}.zip"
  source = "${var.artifacts_root}/${each.value.filename}"
}

resource "aws_lambda_layer_version" "this" {
  for_each = local.manifest.layers

  layer_name               = "${var.name_prefix}${local.module}-${each.key}"
  filename                 = contains(keys(local.s3_layers), each.key) ? null : "${var.artifacts_root}/${each.value.filename}"
  s3_bucket                = contains(keys(local.s3_layers), each.key) ? local.s3_bucket : null
  s3_key                   = contains(keys(local.s3_layers), each.key) ? aws_s3_object.layer[each.key].key : null
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
  filename         = contains(keys(local.s3_functions), each.key) ? null : "${var.artifacts_root}/${each.value.filename}"
  s3_bucket        = contains(keys(local.s3_functions), each.key) ? local.s3_bucket : null
  s3_key           = contains(keys(local.s3_functions), each.key) ? aws_s3_object.function[each.key].key : null
  source_code_hash = each.value.source_code_hash
  layers           = [for layer in each.value.layers : aws_lambda_layer_version.this[layer].arn]
  memory_size      = local.settings[each.key].memory_size
  timeout          = local.settings[each.key].timeout
  publish          = local.settings[each.key].publish

  dynamic "environment" {
    for_each = length(local.settings[each.key].environment) > 0 ? [local.settings[each.key].environment] : []
    content {
      variables = environment.value
    }
  }

  dynamic "ephemeral_storage" {
    for_each = local.settings[each.key].ephemeral_storage == null ? [] : [local.settings[each.key].ephemeral_storage]
    content {
      size = ephemeral_storage.value
    }
  }

  dynamic "snap_start" {
    for_each = local.settings[each.key].snap_start ? ["PublishedVersions"] : []
    content {
      apply_on = snap_start.value
    }
  }

  depends_on = [aws_iam_role_policy_attachment.logs]
}

# SnapStart applies to published versions only: `live` names the version each apply publishes.
resource "aws_lambda_alias" "live" {
  for_each = { for name, settings in local.settings : name => settings if settings.snap_start }

  name             = "live"
  function_name    = aws_lambda_function.this[each.key].function_name
  function_version = aws_lambda_function.this[each.key].version
}
