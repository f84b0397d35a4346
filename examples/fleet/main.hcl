# A fleet: one vm block makes a VM instance per entry of a map (20 on a
# lab started with `meshx-lab up -vms 20`), and three services are spread
# over them, each one block: frontend on every VM, catalog on every other
# VM, orders on the rest. Add a VM by adding a line to the map.

meshx {
  environment = "fleet"
  istio {
    profile = "1.0"
  }
}

cluster "control" {
  role       = "control"
  kubeconfig = var.control_kubeconfig
  pod_cidr   = "172.16.0.0/16"
  mesh_expansion {
    load_balancer = "gcp"
  }
}

# vm.app["vm1"], vm.app["vm2"], …: each instance is set up as a vm block
# of its own would be, and plans, -target and messages name it so.
vm "app" {
  for_each  = var.vm_addresses
  address   = each.value
  namespace = "fleet"
  ssh {
    private_key_file = var.ssh_private_key
    known_hosts_file = var.known_hosts
  }
  sidecar_package {
    source = var.sidecar_package_url
    sha256 = var.sidecar_package_sha256
  }
}

# One Service whose Endpoints list every instance of vm.app. Each service
# names its namespace, so one whose list comes out empty (orders in a
# fleet of one) still has one.
service "frontend" {
  namespace = "fleet"
  vm        = vm.app
  ports     = { http = 8080 }
}

# The instances at even positions of the map's keys, in key order …
service "catalog" {
  namespace = "fleet"
  vm        = [for i, name in sort(keys(vm.app)) : vm.app[name] if i % 2 == 0]
  ports     = { grpc = 9090 }
}

# … and those at odd positions.
service "orders" {
  namespace = "fleet"
  vm        = [for i, name in sort(keys(vm.app)) : vm.app[name] if i % 2 == 1]
  ports     = { http = 9091 }
}

output "mesh_ips" {
  description = "Every VM's mesh IP, by name."
  value       = { for name, vm in vm.app : name => vm.mesh_ip }
}

output "catalog_ips" {
  description = "The mesh IPs behind catalog."
  value       = [for i, name in sort(keys(vm.app)) : vm.app[name].mesh_ip if i % 2 == 0]
}
