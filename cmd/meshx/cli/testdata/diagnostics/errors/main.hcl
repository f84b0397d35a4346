meshx {
  environment = "golden"
}

cluster "control" {
  role         = "control"
  pod_cidr     = "172.16.0.0/16"
  service_cidr = "172.19.0.0/20"
  mesh_expansion {
    load_balancer = "alibaba"
  }
}

cluster "remote1" {
  pod_cidr     = "172.16.128.0/17"
  service_cidr = "172.21.0.0/20"
  replicas     = 3
}
