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

variable "web" {
  type = map(string)
  default = {
    a = "192.168.10.5"
    b = "not an address!"
    c = "192.168.10.5"
    d = "127.0.0.1"
    e = "10.244.0.9"
  }
}

vm "web" {
  for_each  = var.web
  address   = each.value # ERROR: Invalid VM address @ vm.web["b"] # ERROR: Duplicate mesh IP @ vm.web["c"] # ERROR: Unusable mesh IP @ vm.web["d"] # ERROR: VM address inside a cluster range @ vm.web["e"]
  namespace = "shop"
}

service "app" {
  vm    = vm.web
  ports = { ssh = 22 } # ERROR: Service port is the VM's SSH port @ vm.web["a"] # ERROR: Service port is the VM's SSH port @ vm.web["b"] # ERROR: Service port is the VM's SSH port @ vm.web["c"] # ERROR: Service port is the VM's SSH port @ vm.web["d"] # ERROR: Service port is the VM's SSH port @ vm.web["e"]
}
