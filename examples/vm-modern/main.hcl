# Bookinfo's details (9080) and its MySQL database mysqldb (3306) on one VM,
# joined to an istiod-era mesh (Istio 1.20 and later): what
# `istioctl x workload group create`, `istioctl x workload entry configure`
# and istio.io's VM install steps do, as one plan. docs/modern-istio.md maps
# each istioctl step to the block here that replaces it.

meshx {
  environment = "bookinfo-modern"
  istio {
    namespace = "istio-system"
    profile   = "1.28"
    # revision = "1-28"       # istiod-1-28.istio-system.svc, CA_ADDR
    # mesh_id  = "mesh1"
    # network  = "network1"
    # istiod's monitoring port, where meshx verify reads the endpoints
    # istiod serves (kubectl -n istio-system port-forward deploy/istiod 15014).
    debug_url = var.istiod_debug_url
  }
}

cluster "control" {
  role       = "control"
  kubeconfig = var.control_kubeconfig
  pod_cidr   = "172.16.0.0/16"
  # cluster_id defaults to the block name: the VM's ISTIO_META_CLUSTER_ID.
  # "ilb": a LoadBalancer Service in front of istiod, 15012 and 15017.
  # "eastwest": the east-west gateway istio-eastwestgateway (eastwest_gateway
  # names another) with the Gateway and VirtualService of expose-istiod.yaml.
  istiod_exposure = var.istiod_exposure
  mesh_expansion {
    load_balancer = var.load_balancer # internal-LB annotations of the cloud
  }
}

# The VM is WorkloadGroup bookinfo-vm; meshx writes its WorkloadEntry
# (auto_register = true lets istiod create it when the sidecar connects).
vm "vm1" {
  address         = var.vm_address
  namespace       = "bookinfo"
  service_account = "bookinfo-vm"
  workload_group  = "bookinfo-vm"
  labels          = { app = "bookinfo-vm" }
  auto_register   = var.auto_register
  token_lifetime  = "24h" # re-minted by any apply in its last 8 hours
  # The WorkloadGroup's probe: pilot-agent checks details and reports to
  # istiod, which keeps an auto-registered WorkloadEntry's Healthy condition.
  # probe {
  #   http_get {
  #     path = "/health"
  #     port = 9080
  #   }
  #   period            = "10s"
  #   failure_threshold = 3
  # }
  ssh {
    user             = "root"
    private_key_file = var.ssh_private_key
    known_hosts_file = var.known_hosts
  }
  sidecar_package {
    source = var.istio_sidecar_deb
    sha256 = var.istio_sidecar_deb_sha256
  }
}

# Services select the VM's WorkloadEntry by its labels.
service "details" {
  vm    = vm.vm1
  ports = { http = 9080 }
}

service "mysqldb" {
  vm    = vm.vm1
  ports = { mysql = 3306 }
}

output "istiod_ilb" {
  description = "Address of istiod-ilb or of the east-west gateway, which the VM's /etc/hosts gives istiod.istio-system.svc."
  value       = cluster.control.ilb.istiod.address
}

output "mysqldb_host" {
  description = "MYSQL_DB_HOST for ratings-v2-mysql-vm."
  value       = service.mysqldb.fqdn
}
