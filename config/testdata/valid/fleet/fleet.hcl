# A fleet: VMs from a map variable, from count and from a literal set;
# services over all of a block's instances, one of them, and a mix;
# remote clusters from a map.
meshx {
  environment = "fleet"
}

variable "web" {
  type = map(object({ address = string, zone = string }))
}

cluster "control" {
  role         = "control"
  pod_cidr     = "10.244.0.0/16"
  service_cidr = "10.96.0.0/12"
  mesh_expansion {
    load_balancer = "none"
  }
}

cluster "remote" {
  for_each   = { eu = "172.20.0.0/16", us = "172.22.0.0/16" }
  pod_cidr   = each.value
  cluster_id = "remote-${each.key}"
}

vm "web" {
  for_each  = var.web
  address   = each.value.address
  namespace = "shop"
  sidecar_env = {
    ZONE = each.value.zone
  }
  ssh {
    private_key_file = "~/.ssh/id_ed25519"
  }
}

vm "worker" {
  count     = 2
  address   = "192.168.20.${count.index + 10}"
  namespace = "shop"
}

vm "cache" {
  for_each  = toset(["c1", "c2"])
  address   = each.key == "c1" ? "192.168.30.1" : "192.168.30.2"
  namespace = "shop"
}

service "frontend" {
  vm    = vm.web
  ports = { http = 8080 }
}

service "batch" {
  vm    = [vm.worker[1], vm.cache["c2"], vm.worker[0]]
  ports = { grpc = 9090 }
}

service "admin" {
  for_each = vm.web
  name     = "admin-${each.key}"
  vm       = each.value
  ports    = { admin = 8081 }
}

output "web_ips" {
  value = values(vm.web)[*].mesh_ip
}

output "worker_ips" {
  value = vm.worker[*].mesh_ip
}

output "remote_ids" {
  value = { for k, c in cluster.remote : k => c.cluster_id }
}
