meshx {
  environment = "test"
}

cluster "control" {
  role            = "control"
  pod_cidr        = "10.244.0.0/16"
  service_account = "istio-multi" # ERROR: Attribute only for remote clusters
}
