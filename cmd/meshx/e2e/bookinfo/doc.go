// Package bookinfo runs Istio's bookinfo-on-a-VM flows end to end against
// a lab with a real istiod and CoreDNS: details and mysqldb on one VM with
// the current profile (TestBookinfoOnVM: every object and file, drift,
// reboots, destroy), and Istio 0.2's Compute Engine tutorial applied from
// examples/gce-0.2 (TestGCETutorialExample).
//
// It has its own lab instance ("bookinfo"); tests run one after another
// (the mesh-expansion load balancers are cluster-wide names one
// environment owns at a time) and each destroys what it applied.
package bookinfo
