// Command meshx makes Istio mesh expansion declarative: it validates,
// plans and applies HCL descriptions of clusters, VMs and the services they
// host. main is one call to cli.Run; the commands live in package
// github.com/meshx-dev/meshx/cmd/meshx/cli and their output in views.
//
// This package's tests are end to end: the real CLI against the lab's real
// kube-apiservers and sshd VMs (see e2e_*_test.go and internal/e2etest).
package main
