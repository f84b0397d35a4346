meshx {
  environment = "test"
  istio {
    profile  = "1.0"
    revision = "canary" # ERROR: Attribute of the istiod era
  }
}

cluster "control" {
  role             = "control"
  pod_cidr         = "10.244.0.0/16"
  service_cidr     = "10.96.0.0/12"
  istiod_exposure  = "ilb" # ERROR: Attribute of the istiod era
  eastwest_gateway = "gw"  # ERROR: Attribute of the istiod era
  mesh_expansion { load_balancer = "none" }
}

vm "vm1" {
  address        = "192.168.10.5"
  workload_group = "g" # ERROR: Attribute of the istiod era
  ssh {
    use_agent = true
  }
}
