meshx {
  environment = "test"
  istio { profile = "1.28" }
}

cluster "control" {
  role         = "control"
  pod_cidr     = "10.244.0.0/16"
  service_cidr = "10.96.0.0/12"
  mesh_expansion { load_balancer = "none" }
}

vm "vm1" {
  address   = "192.168.10.5"
  namespace = "bookinfo"
  labels    = { app = "a" }
  ssh {
    use_agent = true
  }
}

vm "vm2" {
  address   = "192.168.10.6"
  namespace = "bookinfo"
  labels    = { app = "b" }
  ssh {
    use_agent = true
  }
}

service "details" { # ERROR: Service VMs with different labels
  vm    = [vm.vm1, vm.vm2]
  ports = { http = 9080 }
}

service "other" {
  vm                       = vm.vm1
  namespace                = "elsewhere"
  ports                    = { http = 9081 }
  allow_namespace_mismatch = true # ERROR: Service outside its VMs' namespace
}
