meshx {
  environment = "test"
}

cluster "control" {
  role     = "control"
  pod_cidr = "10.244.0.0/16"
  mesh_expansion {
    load_balancer = "none"
  }
}

vm "vm1" {
  address = "192.168.10.5"
  ssh {
    use_agent = true
  }
  sidecar_env = {
    ISTIO_PILOT_PORT = "15005"
  }
  cluster_env = {
    ISTIO_SERVICE_CIDR = "*" # ERROR: Reserved cluster.env setting
  }
}
