# A stand-in for infrastructure/modules/lambda_manifest that the null provider can plan: the AWS
# provider cannot be downloaded where the tests run. It reads the same manifest the same way and
# keys one resource per function and layer on the same values Lambda's resources change with.
terraform {
  required_version = ">= 1.0"
  required_providers {
    null = {
      source  = "hashicorp/null"
      version = "2.1.2"
    }
  }
}

variable "manifest_path" {
  type = string
}

variable "artifacts_root" {
  type = string
}

locals {
  manifest = jsondecode(file(var.manifest_path))
}

resource "null_resource" "layer" {
  for_each = local.manifest.layers

  triggers = {
    source_code_hash = each.value.source_code_hash
    runtimes         = join(",", each.value.compatible_runtimes)
    architectures    = join(",", each.value.compatible_architectures)
  }
}

resource "null_resource" "function" {
  for_each = local.manifest.functions

  triggers = {
    source_code_hash = each.value.source_code_hash
    handler          = each.value.handler
    runtime          = each.value.runtime
    # aws_lambda_function.layers holds layer version ARNs: a new layer version updates the function.
    layers = join(",", [for layer in each.value.layers : null_resource.layer[layer].id])
  }
}

output "filebase64sha256" {
  value = merge(
    { for name, fn in local.manifest.functions : "function/${name}" => filebase64sha256("${var.artifacts_root}/${fn.filename}") },
    { for name, layer in local.manifest.layers : "layer/${name}" => filebase64sha256("${var.artifacts_root}/${layer.filename}") },
  )
}
