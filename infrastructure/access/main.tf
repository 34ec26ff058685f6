# `terraform apply` here after `./pants package ::` at the repository root.
terraform {
  required_version = ">= 1.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 4.64"
    }
  }
}

provider "aws" {
  region = var.region
}

module "lambdas" {
  source = "../modules/lambda_manifest"

  manifest_path  = "${path.module}/../../dist/infrastructure.access/manifest.json"
  artifacts_root = path.module
  name_prefix    = var.name_prefix
  s3_bucket      = var.artifact_bucket
}
