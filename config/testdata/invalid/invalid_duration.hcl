meshx {
  environment = "test"
}

cluster "control" {
  role     = "control"
  pod_cidr = "10.244.0.0/16"
  mesh_expansion {
    load_balancer = "gcp"
    wait_timeout  = "ten minutes" # ERROR: Invalid duration
  }
}
