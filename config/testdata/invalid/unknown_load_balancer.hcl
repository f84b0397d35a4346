meshx {
  environment = "test"
}

cluster "control" {
  role     = "control"
  pod_cidr = "10.244.0.0/16"
  mesh_expansion {
    load_balancer = "openstack" # ERROR: Unknown load balancer kind
  }
}
