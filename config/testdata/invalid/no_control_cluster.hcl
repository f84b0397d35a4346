meshx {
  environment = "test"
}

cluster "a" { # ERROR: No control cluster
  pod_cidr = "10.1.0.0/16"
}

cluster "b" {
  pod_cidr = "10.2.0.0/16"
}
