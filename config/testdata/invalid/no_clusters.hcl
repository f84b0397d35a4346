meshx { # ERROR: No clusters
  environment = "test"
}
