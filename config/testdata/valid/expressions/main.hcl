meshx {
  environment = "expr"
}

variable "vms" {
  type = map(object({ ip = string, ns = string }))
  default = {
    a = { ip = "192.168.2.1", ns = "shop" }
  }
}

variable "secret_port" {
  type      = string
  default   = "15005"
  sensitive = true
}

locals {
  ports    = { for name, p in { http = 8080, grpc = 9090 } : name => p }
  pilot    = cluster.control.ilb.pilot.address
  ns       = var.vms["a"].ns
  greeting = templatefile("greeting.tpl", { name = "mesh" })
}

cluster "control" {
  role     = "control"
  pod_cidr = "10.244.0.0/16"
  mesh_expansion {
    load_balancer = "none"
  }
}

vm "a" {
  address   = var.vms["a"].ip
  namespace = local.ns
  ssh {
    private_key_file = "id_ed25519"
  }
  sidecar_env = {
    ISTIO_PILOT_PORT = var.secret_port
    PILOT_ADDRESS    = local.pilot
    GREETING         = trimspace(local.greeting)
    KEY_BYTES        = length(file("id_ed25519"))
  }
}

service "shop" {
  vm    = vm.a
  ports = local.ports
}

service "legacy" {
  namespace                = "default"
  allow_namespace_mismatch = true
  vm                       = vm.a
  ports                    = [3306, "11211"]
}

output "pilot" {
  value = "${local.pilot}:15005"
}
