meshx {
  environment = "golden"
}

variable "net" {
  default = "10.0.0.0/30"
}

variable "host" {
  default = 9
}

variable "token" {
  default   = "s3cr3t"
  sensitive = true
}

cluster "control" {
  role     = "control"
  pod_cidr = "10.244.0.0/16"
}

locals {
  gateway = cidrhost(var.net, var.host)
  secret  = "${var.token}" + 1
  greet   = "héllo wörld ${local.missing}"
  span = {
    a = 1
  }.b
}
