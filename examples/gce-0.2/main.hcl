# Google's tutorial "Using Istio with Compute Engine" (将 Istio 与 Google
# Compute Engine 搭配使用) as one configuration: an Istio 0.2 control plane
# on GKE, the four internal load balancers of mesh-expansion.yaml, and the
# VM istio-vm in namespace vm running the bookinfo ratings database
# mysqldb, joined to the mesh as setupMeshEx.sh and `istioctl register`
# did it, without either.

meshx {
  environment = "gce"
  istio {
    namespace = "istio-system"
    # Pilot on 8080 only, mixer-ilb on 9091, the CA as istio-ca-ilb, and
    # cluster.env with ISTIO_SERVICE_CIDR alone. 0.2 has no control-plane
    # authentication, so control_plane_auth is NONE.
    profile = "0.2"
  }
}

cluster "control" {
  role       = "control"
  kubeconfig = var.control_kubeconfig
  pod_cidr   = var.control_pod_cidr
  # service_cidr is left out: meshx discovers it, where generateClusterEnv
  # asked gcloud for the cluster's servicesIpv4Cidr.
  mesh_expansion {
    load_balancer = "gcp"
  }
}

# machineSetup istio-vm, with SERVICE_NAMESPACE=vm.
vm "istio-vm" {
  address   = var.vm_address
  namespace = "vm"
  # gceMachineSetup: the node agent proves its identity with the GCE
  # instance's metadata, so only root-cert.pem is copied. Off GCE, write
  # "all" (machineSetup: the root certificate, the chain and the key).
  certs_mode = "root-only"
  ssh {
    user             = "root"
    private_key_file = var.ssh_private_key
    known_hosts_file = var.known_hosts
  }
  # setupIstioVM.sh's three packages, in its order. Without URLs the
  # sources are null: meshx then installs none and expects them there.
  package "istio-agent" {
    source = try(var.legacy_sidecar_packages["istio-agent"].url, null)
    sha256 = try(var.legacy_sidecar_packages["istio-agent"].sha256, null)
  }
  package "istio-auth-node-agent" {
    source = try(var.legacy_sidecar_packages["istio-auth-node-agent"].url, null)
    sha256 = try(var.legacy_sidecar_packages["istio-auth-node-agent"].sha256, null)
  }
  package "istio-proxy" {
    source = try(var.legacy_sidecar_packages["istio-proxy"].url, null)
    sha256 = try(var.legacy_sidecar_packages["istio-proxy"].sha256, null)
  }
}

# istioctl register -n vm mysqldb <vm> 3306 (the port is named mysql). The
# tutorial's hand edit of sidecar.env (ISTIO_INBOUND_PORTS=3306,
# ISTIO_SERVICE=mysqldb, ISTIO_NAMESPACE=vm) follows from this block.
service "mysqldb" {
  vm    = vm.istio-vm
  ports = [3306]
}

output "pilot_ilb" {
  description = "Address of istio-pilot-ilb, which the VM's dnsmasq answers for istio-pilot."
  value       = cluster.control.ilb.pilot.address
}

output "mysqldb_host" {
  description = "The name ratings-v2-mysql-vm reaches the VM's database by."
  value       = service.mysqldb.fqdn
}
