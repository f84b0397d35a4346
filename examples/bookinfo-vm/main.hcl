# Bookinfo with details and its MySQL database on a VM, as in "Using Istio
# to support service mesh expansion on Alibaba Cloud Kubernetes and ECS":
# internal load balancers for pilot, mixer, citadel and kube-dns, the VM's
# cluster.env, kubedns, certificates and sidecar, and the two services
# registered as `istioctl register` did.

meshx {
  environment = "bookinfo"
  istio {
    namespace          = "istio-system"
    profile            = "1.0"
    control_plane_auth = "MUTUAL_TLS"
  }
}

cluster "control" {
  role       = "control"
  kubeconfig = var.control_kubeconfig
  pod_cidr   = "172.16.0.0/16"
  # service_cidr is left out: meshx discovers it, as the Alibaba variant of
  # setupMeshEx.sh read it from kubeadm-config.
  mesh_expansion {
    load_balancer = "alibaba"
  }
}

vm "ecs1" {
  address         = var.vm_address
  namespace       = "bookinfo"
  service_account = "default"
  ssh {
    user             = "root"
    private_key_file = var.ssh_private_key
    known_hosts_file = var.known_hosts
  }
  sidecar_package {
    source = var.sidecar_package_url
    sha256 = var.sidecar_package_sha256
  }
}

# istioctl -n bookinfo register details <vm> http:9080
service "details" {
  vm    = vm.ecs1
  ports = { http = 9080 }
}

# istioctl -n bookinfo register mysqldb <vm> 3306 (the port is named mysql)
service "mysqldb" {
  vm    = vm.ecs1
  ports = [3306]
}

output "pilot_ilb" {
  description = "Address of istio-pilot-ilb, which the VM's dnsmasq answers for istio-pilot."
  value       = cluster.control.ilb.pilot.address
}

output "mysqldb_host" {
  description = "MYSQL_DB_HOST for the ratings-v2-mysql-vm deployment."
  value       = service.mysqldb.fqdn
}
