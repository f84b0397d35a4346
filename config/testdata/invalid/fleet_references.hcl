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

vm "single" {
  address   = "192.168.10.5"
  namespace = each.key # ERROR: Reference to each without for_each @ vm.single
}

vm "keyed" {
  for_each  = toset(["a"])
  address   = "192.168.10.6"
  namespace = "ns-${count.index}" # ERROR: Reference to count without count @ vm.keyed
}

vm "numbered" {
  count   = 1
  address = "192.168.10.${count.index + 7}"
  cluster_env = {
    X = count.value # ERROR: Invalid reference @ count.index
  }
}

vm "self" {
  for_each = toset([each.key]) # ERROR: Invalid reference in for_each
  address  = "192.168.10.9"
}

vm "other" {
  for_each  = toset(["a"])
  address   = "192.168.10.10"
  namespace = each.name # ERROR: Invalid reference @ each.value
}

vm "web" {
  for_each = toset(["a", "b"])
  address  = each.key == "a" ? "192.168.10.5" : "192.168.10.6"
}

vm "worker" {
  count   = 2
  address = "192.168.11.${count.index + 1}"
}

vm "db" {
  address = "192.168.12.1"
}

output "web_ip" {
  value = vm.web.mesh_ip # ERROR: Missing instance key @ vm.web["a"].mesh_ip
}

output "worker_ip" {
  value = vm.worker.mesh_ip # ERROR: Missing instance key @ vm.worker[*].mesh_ip
}

output "db_ip" {
  value = vm.db["x"].mesh_ip # ERROR: Unexpected instance key @ vm.db.
}

output "missing" {
  value = vm.web["c"].mesh_ip # ERROR: Invalid index
}

variable "name" {
  default = "web"
}

service "by-string" {
  vm    = var.name # ERROR: Invalid vm reference
  ports = { http = 8080 }
}

service "look-alike" {
  vm    = merge(vm.web["a"], { mesh_ip = "192.168.10.99" }) # ERROR: Invalid vm reference
  ports = { http = 8081 }
}

service "twice" {
  vm    = [vm.web, vm.web["a"]] # ERROR: Duplicate VM reference @ vm.web["a"] twice
  ports = { http = 8082 }
}

vm "bad_cluster" {
  address   = "192.168.10.7"
  namespace = "shop"
  cluster   = [cluster.control] # ERROR: Invalid cluster reference
}

output "web_ips" {
  value = vm.web[*].mesh_ip # ERROR: Splat of a block with for_each @ values(vm.web)[*]
}

output "worker_ips" {
  value = vm.worker[*].mesh_ip
}

output "all_web_ips" {
  value = values(vm.web)[*].mesh_ip
}
