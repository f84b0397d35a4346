// Command meshx makes Istio mesh expansion declarative: it validates,
// plans and applies HCL descriptions of clusters, VMs and the services they
// host. main is one call to cli.Run; the commands live in package
// github.com/meshx-dev/meshx/cmd/meshx/cli and their output in views.
//
// The end-to-end tests live under e2e/, one package per feature, each
// running the real CLI against its own lab instance of real kube-apiservers
// and sshd VMs (see internal/e2etest).
package main
