meshx {
  environment = "golden"
}

cluster "control" {
  role     = "control"
  pod_cidr = "10.244.0.0/16"
}

vm "ecs1" {
  address = "192.168.0.10"
  ssh {
    use_agent          = true
    trust_on_first_use = true
  }
  sidecar_env = {
    ISTIO_PILOT_PORT = "8080"
  }
}
