meshx {
  environment = var.env
}

variable "env" {
  type = string
}

variable "cidr" {
  type    = string
  default = "10.0.0.0/16"
}

cluster "control" {
  role     = "control"
  pod_cidr = var.cidr
}
