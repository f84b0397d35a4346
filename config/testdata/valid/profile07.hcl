# Istio 0.7 calls the CA's load balancer istio-ca-ilb, referenced as "ca".
meshx {
  environment = "legacy"
  istio {
    profile            = "0.7"
    control_plane_auth = "NONE"
  }
}

cluster "control" {
  role     = "control"
  pod_cidr = "10.8.0.0/14"
  mesh_expansion {
    load_balancer = "aws"
  }
}

output "ca" {
  value = cluster.control.ilb.ca.address
}

output "dns" {
  value = cluster.control.ilb.dns.name
}
