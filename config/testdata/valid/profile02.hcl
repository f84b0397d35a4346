# Istio 0.2 (the GCE tutorial's cluster): no control-plane auth, three
# sidecar packages, and the GCE node agent's root-cert-only mode. The
# namespace key is free in cluster_env: 0.2's cluster.env has no such key.
meshx {
  environment = "gce"
  istio {
    profile = "0.2"
  }
}

cluster "control" {
  role         = "control"
  pod_cidr     = "10.56.0.0/14"
  service_cidr = "10.63.240.0/20"
  mesh_expansion {
    load_balancer = "gcp"
  }
}

vm "istio-vm" {
  address    = "10.150.0.5"
  namespace  = "vm"
  certs_mode = "root-only"
  ssh {
    use_agent = true
  }
  cluster_env = {
    ISTIO_SYSTEM_NAMESPACE = "istio-system"
  }
  package "istio-agent" {
    source = "https://storage.example.com/0.2.12/deb/istio-agent.deb"
    sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  }
  package "istio-auth-node-agent" {
    source = "https://storage.example.com/0.2.12/deb/istio-auth-node-agent.deb"
    sha256 = "1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  }
  package "istio-proxy" {
    source = "https://storage.example.com/0.2.12/deb/istio-proxy.deb"
    sha256 = "2123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  }
}

service "mysqldb" {
  vm    = vm.istio-vm
  ports = [3306]
}

output "ca" {
  value = cluster.control.ilb.ca.address
}
