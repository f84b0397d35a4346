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

vm "loopback" {
  address = "192.168.10.5"
  mesh_ip = "127.0.0.1" # ERROR: Unusable mesh IP
  ssh {
    use_agent = true
  }
}

vm "mapped_loopback" {
  address = "192.168.10.6"
  mesh_ip = "::ffff:127.0.0.2" # ERROR: Unusable mesh IP
  ssh {
    use_agent = true
  }
}

vm "loopback6" {
  address = "192.168.10.7"
  mesh_ip = "::1" # ERROR: Unusable mesh IP
  ssh {
    use_agent = true
  }
}

vm "unspecified" {
  address = "0.0.0.0" # ERROR: Unusable mesh IP
  ssh {
    use_agent = true
  }
}

vm "multicast" {
  address = "192.168.10.8"
  mesh_ip = "ff02::1" # ERROR: Unusable mesh IP
  ssh {
    use_agent = true
  }
}
