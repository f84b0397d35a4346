meshx {
  environment = "test"
  istio {
    profile            = "1.24"
    control_plane_auth = "MUTUAL_TLS" # ERROR: Attribute of the legacy profiles
  }
}

cluster "control" {
  role            = "control"
  pod_cidr        = "10.244.0.0/16"
  service_cidr    = "10.96.0.0/12"
  mesh_expansion { load_balancer = "none" }
  istiod_exposure = "eastwest-ish" # ERROR: Unknown istiod exposure
}

cluster "remote1" {
  pod_cidr        = "10.245.0.0/16"
  service_cidr    = "172.20.0.0/16"
  istiod_exposure = "ilb" # ERROR: Attribute only for the control cluster
}

vm "vm1" {
  address        = "192.168.10.5"
  certs_mode     = "all" # ERROR: Attribute of the legacy profiles
  labels         = {}    # ERROR: Empty labels
  token_lifetime = "5m"  # ERROR: Token lifetime too short
  ssh {
    use_agent = true
  }
}
