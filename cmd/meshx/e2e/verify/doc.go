// Package verify runs meshx verify on the lab: it passes after
// examples/multicluster's apply, against real VMs (sshd, dnsmasq), real API
// servers, and load-balancer addresses that carry traffic to the lab's
// istiod and CoreDNS; and each of its checks fails, naming what to do,
// when exactly one thing breaks, until meshx apply repairs it. The same
// for examples/vm-modern on the lab's istiod, through istiod-ilb
// (TestVerifyModern) and through an east-west gateway (TestVerifyEastWest).
// It has its own lab instance ("verify").
package verify
