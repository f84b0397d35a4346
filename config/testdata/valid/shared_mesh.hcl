# A team's environment joining VMs to a mesh whose load balancers and remote
# secret the platform's environment owns.
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
  pod_cidr     = "10.1.0.0/16"
  service_cidr = "10.2.0.0/16"
  remote_secret {
    manage = false
  }
}

vm "app1" {
  address   = "10.0.5.7"
  namespace = "team-a"
  ssh {
    use_agent = true
  }
}

output "pilot" {
  value = cluster.control.ilb.pilot.address
}
