meshx {
  environment = "test"
  istio { profile = "1.28" }
}

cluster "control" {
  role         = "control"
  pod_cidr     = "10.244.0.0/16"
  service_cidr = "10.96.0.0/12"
  mesh_expansion { load_balancer = "none" }
}

vm "vm1" {
  address = "192.168.10.5"
  ssh {
    use_agent = true
  }
  probe { # ERROR: Probe needs one check
    http_get {
      path = "healthz" # ERROR: Invalid probe path
      port = 9080
    }
    tcp_socket {
      port = 70000 # ERROR: Invalid port
    }
    period            = "1500ms" # ERROR: Probe timing not in whole seconds
    failure_threshold = 0        # ERROR: Invalid probe threshold
  }
}

vm "vm2" {
  address = "192.168.10.6"
  ssh {
    use_agent = true
  }
  probe {
    exec {
      command = [] # ERROR: Empty probe command
    }
  }
}

vm "vm3" { # ERROR: WorkloadGroup members disagree
  address        = "192.168.10.7"
  workload_group = "vm2"
  ssh {
    use_agent = true
  }
  probe {
    exec {
      command = ["/bin/true"]
    }
  }
}
