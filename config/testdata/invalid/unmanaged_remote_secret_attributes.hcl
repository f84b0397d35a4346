meshx {
  environment = "team-a"
}

cluster "control" {
  role         = "control"
  pod_cidr     = "10.244.0.0/16"
  service_cidr = "10.96.0.0/12"
  mesh_expansion {
    manage = false
  }
}

cluster "remote1" {
  pod_cidr        = "10.1.0.0/16"
  service_cidr    = "10.2.0.0/16"
  service_account = "istio-multi" # ERROR: Attribute of a reader this environment does not manage
  remote_secret {
    manage = false
  }
}
