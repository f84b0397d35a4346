meshx {
  environment = "test"
  istio {
    profile   = "1.28"
    debug_url = "http://admin:hunter2@127.0.0.1:15014" # ERROR: Credentials in istiod debug URL
  }
}

cluster "control" {
  role         = "control"
  pod_cidr     = "10.244.0.0/16"
  service_cidr = "10.96.0.0/12"
  mesh_expansion { load_balancer = "none" }
}
