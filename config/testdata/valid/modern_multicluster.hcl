# The istiod era with a remote cluster: istioctl create-remote-secret's
# reader and secret, with the API server address istiod reaches.
meshx {
  environment = "test"
  istio { profile = "1.28" }
}

cluster "control" {
  role         = "control"
  pod_cidr     = "10.244.0.0/16"
  service_cidr = "10.96.0.0/12"
  cluster_id   = "cluster1"
}

cluster "remote1" {
  pod_cidr       = "10.1.0.0/16"
  service_cidr   = "10.2.0.0/16"
  cluster_id     = "cluster2"
  token_lifetime = "1h"
  remote_secret {
    server          = "https://10.0.0.5:6443"
    tls_server_name = "api.remote1.internal"
  }
}

cluster "remote2" {
  pod_cidr        = "10.3.0.0/16"
  service_cidr    = "10.4.0.0/16"
  service_account = "istiod-reader"
}
