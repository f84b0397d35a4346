meshx {
  environment = "test"
}

cluster "control" {
  role       = "control"
  kubeconfig = [] # ERROR: Empty kubeconfig
  pod_cidr   = "10.244.0.0/16"
  mesh_expansion {
    load_balancer = "none"
  }
}

cluster "remote1" {
  kubeconfig = ["~/.kube/remote1", ""] # ERROR: Empty kubeconfig
  pod_cidr   = "10.245.0.0/16"
}

cluster "remote2" {
  kubeconfig = ["~/.kube/remote2", { path = "x" }] # ERROR: Incorrect attribute value type
  pod_cidr   = "10.246.0.0/16"
}
