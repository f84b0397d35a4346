meshx {
  environment = "bookinfo"
  istio {
    namespace          = "istio-system"
    profile            = "1.0"
    control_plane_auth = "MUTUAL_TLS"
  }
}

variable "vm_ip" {
  type        = string
  default     = "192.168.0.10"
  description = "Address of the ECS instance."
  validation {
    condition     = can(cidrhost("${var.vm_ip}/32", 0))
    error_message = "vm_ip must be an IPv4 address."
  }
}

cluster "control" {
  role         = "control"
  kubeconfig   = "~/.kube/config"
  context      = "istio-control-plane"
  pod_cidr     = "172.16.0.0/16"
  service_cidr = "172.19.0.0/20"
  mesh_expansion {
    load_balancer = "alibaba"
    annotations = {
      "service.beta.kubernetes.io/alicloud-loadbalancer-force-override-listeners" = "true"
    }
    wait_timeout = "15m"
  }
}

vm "ecs1" {
  address = var.vm_ip
  ssh {
    user             = "root"
    private_key_file = "~/.ssh/id_rsa"
    known_hosts_file = "known_hosts"
  }
  namespace       = "bookinfo"
  service_account = "default"
  sidecar_package {
    source = "https://storage.example.com/1.0.0/deb/istio-sidecar.deb"
    sha256 = "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"
  }
  sidecar_env = {
    ISTIO_INBOUND_INTERCEPTION_MODE = "REDIRECT"
  }
}

service "details" {
  vm    = vm.ecs1
  ports = { http = 9080 }
}

service "mysqldb" {
  vm    = vm.ecs1
  ports = { "3306" = 3306 }
  labels = {
    app = "mysqldb"
  }
}

output "pilot_ilb" {
  value = cluster.control.ilb.pilot.address
}

output "details_fqdn" {
  value = service.details.fqdn
}
