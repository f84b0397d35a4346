meshx {
  environment = "test"
  istio { profile = "1.28" }
}

cluster "control" {
  role             = "control"
  pod_cidr         = "10.244.0.0/16"
  service_cidr     = "10.96.0.0/12"
  istiod_exposure  = "eastwest"
  eastwest_gateway = "East_West" # ERROR: Invalid Service name
}

cluster "remote1" {
  pod_cidr         = "10.245.0.0/16"
  service_cidr     = "172.20.0.0/16"
  eastwest_gateway = "istio-eastwestgateway" # ERROR: East-west gateway without its exposure
}
