output "function_arns" {
  description = "Function name in the manifest => function ARN."
  value       = { for name, fn in aws_lambda_function.this : name => fn.arn }
}

output "api_routes" {
  description = "Function name => what an API Gateway integration needs, to compose modules in an infrastructure repository."
  value = {
    for name, fn in aws_lambda_function.this : name => {
      function_name = fn.function_name
      invoke_arn    = fn.invoke_arn
      qualified_arn = fn.qualified_arn
    }
  }
}

output "published_versions" {
  description = "Function name => the version this apply published, for the functions with snap_start (SnapStart runs published versions only)."
  value       = { for name, fn in aws_lambda_function.this : name => fn.version if local.settings[name].snap_start }
}

output "live_aliases" {
  description = "Function name => ARN of its `live` alias, which points at the published version, for the functions with snap_start: invoke this, not $LATEST."
  value       = { for name, alias in aws_lambda_alias.live : name => alias.arn }
}

output "layer_arns" {
  description = "Layer name in the manifest => ARN of the layer version deployed."
  value       = { for name, layer in aws_lambda_layer_version.this : name => layer.arn }
}

output "role_arn" {
  description = "The functions' execution role."
  value       = aws_iam_role.lambda.arn
}
