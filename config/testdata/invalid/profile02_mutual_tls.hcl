meshx {
  environment = "gce"
  istio {
    profile            = "0.2"
    control_plane_auth = "MUTUAL_TLS" # ERROR: No control plane auth in this Istio profile
  }
}

cluster "control" {
  role         = "control"
  pod_cidr     = "10.56.0.0/14"
  service_cidr = "10.63.240.0/20"
  mesh_expansion {
    load_balancer = "gcp"
  }
}
