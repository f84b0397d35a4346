# The smallest environment: a control cluster and nothing else.
meshx {
  environment = "minimal"
}

cluster "control" {
  role     = "control"
  pod_cidr = "10.244.0.0/16"
}
