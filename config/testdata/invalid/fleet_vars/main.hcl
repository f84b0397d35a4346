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
}

vm "web" {
  for_each  = var.web
  address   = each.value # ERROR: Invalid VM address @ vm.web["b"] (key at meshx.vars:3)
  namespace = "shop"
}

vm "db" {
  for_each = {
    x = "192.168.20.1"
    y = "192.168.20.1" # the key's line is named: main.hcl:27
  }
  address = each.value # ERROR: Duplicate mesh IP @ vm.db["y"] (key at main.hcl:27)
}
