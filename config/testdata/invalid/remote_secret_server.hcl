meshx {
  environment = "test"
  istio { profile = "1.28" }
}

cluster "control" {
  role         = "control"
  pod_cidr     = "10.244.0.0/16"
  service_cidr = "10.96.0.0/12"
}

cluster "remote1" {
  pod_cidr = "10.1.0.0/16"
  remote_secret {
    server          = "10.0.0.5:6443"       # ERROR: Invalid API server address
    tls_server_name = "API.remote1.internal" # ERROR: Invalid TLS server name
  }
}

cluster "remote2" {
  pod_cidr = "10.2.0.0/16"
  remote_secret {
    manage = false
    server = "https://10.0.0.6:6443" # ERROR: Attribute of a secret this environment does not manage
  }
}
