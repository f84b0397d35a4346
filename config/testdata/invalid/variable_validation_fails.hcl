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


variable "vm_address" {
  type    = string
  default = "not an ip" # ERROR: Invalid value for variable
  validation {
    condition     = can(cidrhost("${var.vm_address}/32", 0))
    error_message = "vm_address must be an IPv4 address."
  }
}
