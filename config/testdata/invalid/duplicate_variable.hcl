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


variable "x" {
  default = 1
}

variable "x" { # ERROR: Duplicate variable block
  default = 2
}
