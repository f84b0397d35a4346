meshx {
  environment = "gce"
  istio {
    profile = "0.3"
  }
}

cluster "control" {
  role         = "control"
  pod_cidr     = "10.56.0.0/14"
  service_cidr = "10.63.240.0/20"
  mesh_expansion {
    load_balancer = "gcp"
  }
}

# One istio-sidecar package where 0.3 ships three.
vm "vm1" {
  address = "10.150.0.5"
  ssh {
    use_agent = true
  }
  sidecar_package { # ERROR: One sidecar package, several needed
    source = "https://example.com/istio-sidecar.deb"
    sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  }
}

# Two of the three, one misspelt.
vm "vm2" { # ERROR: Missing sidecar package
  address = "10.150.0.6"
  ssh {
    use_agent = true
  }
  package "istio-agent" {
    source = "https://example.com/istio-agent.deb"
    sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  }
  package "istio-prxy" { # ERROR: Unknown sidecar package
    source = "https://example.com/istio-proxy.deb"
    sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  }
  package "istio-agent" { # ERROR: Duplicate package block
    source = "https://example.com/istio-agent.deb"
    sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  }
}

# Both forms at once.
vm "vm3" {
  address = "10.150.0.7"
  ssh {
    use_agent = true
  }
  sidecar_package { # ERROR: One sidecar package, several needed
    source = "https://example.com/istio-sidecar.deb"
    sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  }
  package "istio-agent" { # ERROR: Both sidecar_package and package blocks
    source = "https://example.com/istio-agent.deb"
  }
}
