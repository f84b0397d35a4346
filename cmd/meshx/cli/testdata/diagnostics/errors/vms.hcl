vm "ecs1" {
  address = "192.168.0.10"
  ssh {
    private_key_file = "~/.ssh/id_rsa"
  }
  namespace = "bookinfo"
}

service "details" {
  vm = vm.ecs2
  ports = {
    http = 9080
  }
}

service "ratings" {
  vm = vm.ecs1
  labels = [
    "app=ratings",
  ]
  ports = {
    # “ratings” API
    http = 70000
  }
}
