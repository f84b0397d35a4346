meshx {
  environment = "plain"
  istio {
    control_plane_auth = "NONE"
  }
}

cluster "control" {
  role     = "control"
  pod_cidr = "10.244.0.0/16"
  mesh_expansion {
    load_balancer = "azure"
  }
}

vm "vm1" {
  address = "192.168.1.20"
  ssh {
    use_agent = true
  }
  sidecar_env = {
    ISTIO_PILOT_PORT = "15005" # WARNING: Pilot port does not match control plane auth
  }
}
