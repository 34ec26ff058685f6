variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "eu-west-1"
}

variable "name_prefix" {
  description = "Prefix of every resource name, e.g. \"prod-\"."
  type        = string
  default     = ""
}

variable "artifact_bucket" {
  description = "Set to upload ZIPs through S3 (for packages over 50 MB); null uploads directly."
  type        = string
  default     = null
}
