meshx {
  environment = "test"
}

cluster "control" {
  role         = "control"
  pod_cidr     = "10.244.0.0/16"
  service_cidr = "10.96.0.0/12"
  mesh_expansion {
    load_balancer = "none"
  }
}


vm "vm1" {
  address = "192.168.10.5"
  ssh {
    use_agent        = true
    known_hosts_file = "." # ERROR: Unusable known_hosts file
  }
}
