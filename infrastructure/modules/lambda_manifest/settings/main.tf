# Each function's settings: its manifest entry's `memory_size`, `timeout`, `environment`,
# `ephemeral_storage` and `snap_start` (present when its `lambda_function` sets them) over the
# calling module's defaults. No resources and no provider, so Terraform alone evaluates it
# (tests/python/e2e/terraform_test.py does, for every manifest of the example).
terraform {
  required_version = ">= 1.0"
}

variable "functions" {
  description = "The manifest's `functions`."
  type        = any
}

variable "memory_size" {
  description = "Memory of a function whose entry sets none, in MB."
  type        = number
}

variable "timeout" {
  description = "Timeout of a function whose entry sets none, in seconds."
  type        = number
}

variable "environment" {
  description = "Environment variables of every function, under each entry's own."
  type        = map(string)
}

output "functions" {
  description = "Function name => the arguments aws_lambda_function gets from its settings."
  value = {
    for name, fn in var.functions : name => {
      memory_size       = lookup(fn, "memory_size", var.memory_size)
      timeout           = lookup(fn, "timeout", var.timeout)
      environment       = merge(var.environment, lookup(fn, "environment", {}))
      ephemeral_storage = lookup(fn, "ephemeral_storage", null)
      snap_start        = lookup(fn, "snap_start", false)
      # SnapStart applies to published versions only.
      publish = lookup(fn, "snap_start", false)
    }
  }
}
