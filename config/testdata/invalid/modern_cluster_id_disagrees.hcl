meshx {
  environment = "test"
  istio { profile = "1.28" }
}

cluster "control" {
  role         = "control"
  pod_cidr     = "10.244.0.0/16"
  service_cidr = "10.96.0.0/12"
  mesh_expansion { load_balancer = "none" }
  cluster_id   = "cluster1"
}

vm "vm1" {
  address     = "192.168.10.5"
  cluster_env = { ISTIO_META_CLUSTER_ID = "Kubernetes" } # ERROR: Cluster ID disagrees
  ssh {
    use_agent = true
  }
}
