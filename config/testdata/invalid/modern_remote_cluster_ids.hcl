meshx {
  environment = "test"
  istio { profile = "1.28" }
}

cluster "control" {
  role         = "control"
  pod_cidr     = "10.244.0.0/16"
  service_cidr = "10.96.0.0/12"
  cluster_id   = "cluster1"
  mesh_expansion { load_balancer = "none" }
}

cluster "remote1" {
  pod_cidr   = "10.1.0.0/16"
  cluster_id = "cluster1" # ERROR: Remote cluster ID equals the control cluster's @ istiod ignores a remote secret whose key is its own cluster ID
}

cluster "remote2" {
  pod_cidr   = "10.2.0.0/16"
  cluster_id = "cluster2"
}

cluster "remote3" {
  pod_cidr   = "10.3.0.0/16"
  cluster_id = "cluster2" # ERROR: Duplicate cluster ID @ cluster has already been registered
}

vm "vm1" {
  address     = "192.168.10.5"
  cluster_env = { ISTIO_META_CLUSTER_ID = "cluster2" } # ERROR: Cluster ID disagrees @ whose cluster ID is "cluster1"
  ssh {
    use_agent = true
  }
}
