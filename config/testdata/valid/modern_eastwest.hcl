meshx {
  environment = "test"
  istio { profile = "1.28" }
}

# With istiod_exposure = "eastwest", mesh_expansion needs no load_balancer
# (meshx creates none; "none" says so) and wait_timeout bounds the wait for
# the east-west gateway's address.
cluster "control" {
  role            = "control"
  pod_cidr        = "10.244.0.0/16"
  service_cidr    = "10.96.0.0/12"
  istiod_exposure = "eastwest"
  mesh_expansion { wait_timeout = "5m" }
}
