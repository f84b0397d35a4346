meshx {
  environment = "test"
}

cluster "control" {
  role         = "control"
  pod_cidr     = "10.244.0.0/16"
  service_cidr = "10.96.0.0/12"
  mesh_expansion {
    load_balancer = "none"
  }
}


locals {
  min = 1
}

variable "n" {
  default = 3
  validation {
    condition     = var.n > local.min # ERROR: Invalid reference in variable validation
    error_message = "n is too small."
  }
}
