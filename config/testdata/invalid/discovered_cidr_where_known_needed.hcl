meshx {
  environment = "test"
}

cluster "control" {
  role     = "control"
  pod_cidr = "10.244.0.0/16"
}

cluster "remote1" {
  pod_cidr     = "10.1.0.0/16"
  service_cidr = cluster.control.service_cidr # ERROR: Value known only after apply
}
