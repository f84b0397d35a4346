// Package e2etest runs meshx's own CLI in-process against the lab: real
// kube-apiservers and real sshd VMs. The packages under cmd/meshx/e2e use it;
// each starts its own lab instance in TestMain with lab.RunTests.
//
// Tests in one package run one after another (the mesh-expansion load
// balancers are cluster-wide names one environment owns at a time), and
// each destroys what it applied.
package e2etest
