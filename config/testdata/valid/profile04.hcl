# Istio 0.4 serves mutual-TLS pilot on 15003 (15005 came with 0.7), so the
# port 1.0 wants is the wrong one here.
meshx {
  environment = "legacy"
  istio {
    profile = "0.4"
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

vm "vm1" {
  address = "10.150.0.5"
  ssh {
    use_agent = true
  }
  sidecar_env = {
    ISTIO_PILOT_PORT = "15005" # WARNING: Pilot port does not match control plane auth
  }
}
