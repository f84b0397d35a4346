meshx {
  environment = "test"
  istio { profile = "1.28" }
}

# With istiod_exposure = "eastwest" meshx creates no load balancer: the
# east-west gateway Service is read, never written, so what would shape
# istiod-ilb is refused where it is written.
cluster "control" {
  role            = "control"
  pod_cidr        = "10.244.0.0/16"
  service_cidr    = "10.96.0.0/12"
  istiod_exposure = "eastwest"
  mesh_expansion {
    load_balancer = "gcp" # ERROR: Attribute of a load balancer meshx does not create
    annotations = { # ERROR: Attribute of a load balancer meshx does not create
      "example.com/team" = "platform"
    }
    wait_timeout = "5m"
  }
}
