meshx {
  environment = "test"
  istio {
    profile      = "1.28"
    revision     = "1-28"
    mesh_id      = "mesh1"
    network      = "net1"
    trust_domain = "example.org"
    debug_url    = "http://127.0.0.1:15014"
  }
}

cluster "control" {
  role            = "control"
  pod_cidr        = "10.244.0.0/16"
  service_cidr    = "10.96.0.0/12"
  istiod_exposure = "ilb"
  mesh_expansion {
    load_balancer = "gcp"
  }
}

vm "vm1" {
  address         = "192.168.10.5"
  namespace       = "bookinfo"
  service_account = "bookinfo-vm"
  workload_group  = "bookinfo-vm"
  labels          = { app = "bookinfo-vm", version = "v1" }
  token_lifetime  = "2h"
  locality        = "us-east1/us-east1-b"
  weight          = 10
  cluster_env     = { ISTIO_META_CLUSTER_ID = "control" }
  ssh {
    use_agent = true
  }
  probe {
    http_get {
      path = "/details/0"
      port = 9080
    }
    initial_delay     = "5s"
    period            = "10s"
    failure_threshold = 3
  }
}

vm "vm2" {
  address         = "192.168.10.6"
  namespace       = "bookinfo"
  service_account = "bookinfo-vm"
  workload_group  = "bookinfo-vm"
  labels          = { version = "v1", app = "bookinfo-vm" }
  ssh {
    use_agent = true
  }
  probe {
    http_get {
      path = "/details/0"
      port = 9080
    }
    initial_delay     = "5s"
    period            = "10s"
    failure_threshold = 3
  }
}

service "details" {
  vm    = [vm.vm1, vm.vm2]
  ports = { http = 9080 }
}

output "istiod" { value = cluster.control.ilb.istiod.address }
