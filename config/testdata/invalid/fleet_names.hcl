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

cluster "remote" { # ERROR: Missing cluster_id @ cluster.remote[0]
  count    = 1
  pod_cidr = "172.20.0.0/16"
}

cluster "more" {
  count    = 1
  role     = "control" # ERROR: Control cluster with for_each or count @ cluster.more[0]
  pod_cidr = "172.30.0.0/16"
}

vm "web" {
  for_each  = toset(["a", "b"])
  address   = each.key == "a" ? "192.168.10.5" : "192.168.10.6"
  namespace = "shop"
}

service "admin" { # ERROR: Missing service name @ service.admin["a"] # ERROR: Missing service name @ service.admin["b"]
  for_each = vm.web
  vm       = each.value
  ports    = { admin = 8081 }
}

service "front" {
  vm    = vm.web
  ports = { http = 8080 }
}

service "front2" {
  name  = "front" # ERROR: Duplicate Kubernetes Service @ shop/front
  vm    = vm.web["a"]
  ports = { http2 = 8082 }
}

service "empty" {
  for_each = {}
  name     = "never"
  vm       = vm.web
  ports    = { http = 8083 }
}

service "nobody" {
  vm    = [for k, v in vm.web : v if k == "z"] # ERROR: Missing service namespace
  ports = { http = 8084 }
}
