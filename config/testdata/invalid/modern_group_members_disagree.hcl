meshx {
  environment = "test"
  istio { profile = "1.28" }
}

cluster "control" {
  role         = "control"
  pod_cidr     = "10.244.0.0/16"
  service_cidr = "10.96.0.0/12"
  mesh_expansion { load_balancer = "none" }
}

vm "vm1" {
  address        = "192.168.10.5"
  namespace      = "bookinfo"
  workload_group = "g"
  ssh {
    use_agent = true
  }
}

vm "vm2" { # ERROR: WorkloadGroup members disagree
  address        = "192.168.10.6"
  namespace      = "other"
  workload_group = "g"
  ssh {
    use_agent = true
  }
}
