meshx {
  environment = "multi"
  adopt       = true
}

cluster "control" {
  role         = "control"
  kubeconfig   = "kube/control.yaml"
  pod_cidr     = "172.16.0.0/16"
  service_cidr = "172.19.0.0/20"
  mesh_expansion {
    load_balancer = "gcp"
  }
}

cluster "remote1" {
  kubeconfig      = "kube/remote1.yaml"
  pod_cidr        = "172.20.0.0/16"
  service_cidr    = "172.21.0.0/20"
  cluster_id      = "myremote1"
  service_account = "istio-reader"
  token_lifetime  = "24h"
  adopt           = false
}

cluster "remote2" {
  pod_cidr = cidrsubnet("172.24.0.0/13", 3, 1)
}

vm "app1" {
  address = "10.0.5.7"
  mesh_ip = "10.0.6.7"
  ssh {
    user               = "deploy"
    port               = 2222
    use_agent          = true
    sudo               = true
    bastion            = "jump@10.0.5.1:22"
  }
  namespace = "bookinfo"
  cluster   = cluster.control
  cluster_env = {
    ISTIO_META_NETWORK = "vm-net"
  }
}

service "details" {
  namespace   = "bookinfo"
  vm          = [vm.app1]
  ports       = ["http:9080", 9090]
  cluster     = cluster.remote1
  annotations = { "example.com/owner" = "team-a" }
}
