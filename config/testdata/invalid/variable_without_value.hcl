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


variable "vm_address" { # ERROR: No value for required variable
  type = string
}

vm "vm1" {
  address = var.vm_address
  ssh {
    use_agent = true
  }
}
