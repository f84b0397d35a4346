meshx {
  environment = "test"
}

cluster "control" { # ERROR: Missing required argument
  role = "control"
}
