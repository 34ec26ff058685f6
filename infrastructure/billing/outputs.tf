output "function_arns" {
  value = module.lambdas.function_arns
}

output "api_routes" {
  value = module.lambdas.api_routes
}

output "layer_arns" {
  value = module.lambdas.layer_arns
}
