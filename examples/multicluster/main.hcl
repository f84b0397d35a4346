# Two clusters in one mesh, as in "Hybrid orchestration of services on
# multiple Kubernetes clusters with Istio": the Istio control plane runs in
# control, remote1 is read through a reader service account whose kubeconfig
# meshx stores in the control plane's secret (generate-kubeconfig.sh and
# create-secret.sh), and details is served from remote1. Here details runs
# on a VM and is registered in remote1, so pilot learns of it through the
# remote secret.
#
# Pod and service CIDRs must be unique across the clusters (Istio 1.0); the
# variables default to the guide's table (set them to your clusters' real
# ranges: the VM's sidecar intercepts the control cluster's service CIDR):
#
#   cluster               ContainerCIDR    ServiceCIDR
#   istio-control-plane   172.16.0.0/16    172.19.0.0/20
#   istio-remote1         172.20.0.0/16    172.21.0.0/20

meshx {
  environment = "multicluster"
  istio {
    namespace = "istio-system"
    profile   = "1.0"
  }
}

cluster "control" {
  role         = "control"
  kubeconfig   = var.control_kubeconfig
  pod_cidr     = var.control_pod_cidr
  service_cidr = var.control_service_cidr
  mesh_expansion {
    load_balancer = "alibaba"
  }
}

cluster "remote1" {
  kubeconfig      = var.remote1_kubeconfig
  pod_cidr        = var.remote1_pod_cidr
  service_cidr    = var.remote1_service_cidr
  service_account = "istio-multi"
  # cluster_id defaults to "remote1": the key of its kubeconfig in the
  # control plane's secret (the guide's `generate-kubeconfig.sh myremote1`).
}

vm "ecs1" {
  address   = var.vm_address
  namespace = "bookinfo"
  ssh {
    private_key_file = var.ssh_private_key
    known_hosts_file = var.known_hosts
  }
  sidecar_package {
    source = var.sidecar_package_url
    sha256 = var.sidecar_package_sha256
  }
}

service "details" {
  vm      = vm.ecs1
  ports   = { http = 9080 }
  cluster = cluster.remote1
}

output "remote1_cluster_id" {
  value = cluster.remote1.cluster_id
}

output "pilot_ilb" {
  value = cluster.control.ilb.pilot.address
}

# The values the guide's generate-control-plane-conn-info.sh printed for the
# istio-remote chart. The guide read pod IPs, which change whenever a pod
# restarts (istio/istio#4822); the internal load balancers' addresses do not.
output "istio_remote_values" {
  description = "global.* values for the istio-remote chart in remote1."
  value = {
    remotePilotAddress     = cluster.control.ilb.pilot.address
    remotePolicyAddress    = cluster.control.ilb.mixer.address
    remoteTelemetryAddress = cluster.control.ilb.mixer.address
  }
}
