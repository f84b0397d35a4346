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

# An IPv4-mapped IPv6 address is the IPv4 address: it is checked as one.
vm "vm1" {
  address = "192.168.10.5"
  mesh_ip = "::ffff:10.244.3.4" # ERROR: VM address inside a cluster range
  ssh {
    use_agent = true
  }
}
