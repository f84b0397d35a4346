meshx {
  environment = "test"
  istio {
    profile = "0.7"
  }
}

cluster "control" {
  role         = "control"
  pod_cidr     = "10.244.0.0/16"
  service_cidr = "10.96.0.0/12"
  mesh_expansion {
    load_balancer = "none"
  }
}

output "ca" {
  value = cluster.control.ilb.citadel.address # ERROR: Unknown ILB key
}
