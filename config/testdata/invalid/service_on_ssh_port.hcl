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
  address   = "192.168.10.5"
  namespace = "app"
  ssh {
    private_key_file = "~/.ssh/id_ed25519"
  }
}

service "ssh" {
  vm    = vm.vm1
  ports = { ssh = 22 } # ERROR: Service port is the VM's SSH port
}
