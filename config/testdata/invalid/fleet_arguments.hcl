meshx {
  environment = "test"
}

cluster "control" {
  role         = "control"
  pod_cidr     = "10.244.0.0/16"
  service_cidr = "10.96.0.0/12"
  mesh_expansion {
    load_balancer = "none"
  }
}

vm "both" {
  for_each = toset(["a", "b"])
  count    = 2 # ERROR: Both for_each and count
  address  = "192.168.10.5"
}

vm "list" {
  for_each = ["a", "b", "a"] # ERROR: Invalid for_each argument @ has "a" twice
  address  = "192.168.10.5"
}

vm "string" {
  for_each = "db1" # ERROR: Invalid for_each argument @ is a string
  address  = "192.168.10.6"
}

vm "null" {
  for_each = null # ERROR: Invalid for_each argument @ is null
  address  = "192.168.10.7"
}

vm "numbers" {
  for_each = toset([1, 2]) # ERROR: Invalid for_each argument @ a set of number
  address  = "192.168.10.8"
}

vm "keys" {
  for_each = {
    good    = "192.168.10.5"
    "bad x" = "192.168.10.6" # ERROR: Invalid for_each key @ "bad x"
  }
  address = each.value
}

vm "empty_key" {
  for_each = toset(["ok", ""]) # ERROR: Invalid for_each key @ the element ""
  address  = "192.168.10.7"
}

vm "dup_key" {
  for_each = {
    a = "192.168.10.8"
    b = "192.168.10.9"
    a = "192.168.10.10" # ERROR: Duplicate key @ "a"
  }
  address = each.value
}

variable "hosts" {
  type      = map(string)
  sensitive = true
  default   = { a = "192.168.10.5" }
}

vm "secret" {
  for_each = var.hosts # ERROR: Invalid for_each argument @ sensitive
  address  = "192.168.10.5"
}

vm "unknown_set" {
  for_each = toset([cluster.control.ilb.pilot.address]) # ERROR: Invalid for_each argument @ known only after apply
  address  = "192.168.10.5"
}

vm "unknown_count" {
  count   = length(cluster.control.ilb.pilot.address) # ERROR: Invalid count argument @ only while applying
  address = "192.168.10.6"
}

vm "negative" {
  count   = -1 # ERROR: Invalid count argument @ from 0 to 10000
  address = "192.168.10.5"
}

vm "fraction" {
  count   = 1.5 # ERROR: Invalid count argument @ is 1.5
  address = "192.168.10.6"
}

vm "text" {
  count   = "many" # ERROR: Invalid count argument @ whole number
  address = "192.168.10.7"
}

vm "huge" {
  count   = 100000 # ERROR: Invalid count argument @ from 0 to 10000
  address = "192.168.10.8"
}
