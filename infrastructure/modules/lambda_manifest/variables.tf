variable "manifest_path" {
  description = "Path of the module's manifest, written by `./pants package ::` (dist/infrastructure.<module>/manifest.json)."
  type        = string
}

variable "artifacts_root" {
  description = "The folder the manifest's `filename` values are relative to: the infrastructure/<module> folder."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of every function, layer and role name, e.g. an environment name followed by a dash."
  type        = string
  default     = ""
}

variable "s3_bucket" {
  description = "Upload the ZIPs to this bucket instead of directly to Lambda. Without it, only the artifacts whose target says upload=\"s3\" (over Lambda's 50 MB direct-upload limit) go through S3, and they need it set. Object keys contain the ZIP's SHA-256, so a new ZIP is a new key."
  type        = string
  default     = null
}

variable "s3_key_prefix" {
  description = "Prefix of the S3 object keys, when s3_bucket is set."
  type        = string
  default     = "lambda/"
}

variable "memory_size" {
  description = "Memory of every function whose lambda_function sets no memory_size, in MB."
  type        = number
  default     = 256
}

variable "timeout" {
  description = "Timeout of every function whose lambda_function sets no timeout, in seconds."
  type        = number
  default     = 15
}

variable "environment" {
  description = "Environment variables of every function, under those its lambda_function sets (environment)."
  type        = map(string)
  default     = {}
}
