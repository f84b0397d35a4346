meshx {
  environment = "test"
}

cluster "control" {
  role         = "control"
  pod_cidr     = "10.0.0.0/8"
  service_cidr = "10.96.0.0/12" # ERROR: Overlapping CIDR ranges
}
