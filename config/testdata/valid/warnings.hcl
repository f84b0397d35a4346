meshx {
  environment = "pitfalls"
}

cluster "control" { # WARNING: No mesh_expansion block
  role     = "control"
  pod_cidr = "10.244.0.0/16"
}

vm "vm1" {
  address = "192.168.1.20"
  ssh {
    use_agent          = true
    trust_on_first_use = true # WARNING: Host keys trusted on first use
  }
  sidecar_env = {
    ISTIO_PILOT_PORT    = "8080" # WARNING: Pilot port does not match control plane auth
    ISTIO_INBOUND_PORTS = "9080" # WARNING: Inbound ports leave out service ports
    ISTIO_SERVICE_CIDR  = "*" # WARNING: Setting overridden by cluster.env
  }
  cluster_env = {
    CONTROL_PLANE_AUTH_POLICY = "MUTUAL_TLS" # WARNING: Setting ignored by the sidecar
  }
}

vm "vm2" {
  address = "192.168.1.21"
  ssh {
    use_agent = true
  }
}

service "details" {
  vm    = vm.vm1
  ports = { http = 9080, http-admin = 9081 }
}
