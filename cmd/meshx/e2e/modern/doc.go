// Package modern runs the istiod era end to end against a lab with a real
// istiod and the real pilot-agent in a modern istio-sidecar .deb:
// examples/vm-modern applied unchanged (bookinfo's details and mysqldb on
// one VM), the workload certificate the agent started by meshx's unit
// obtains, istiod listing the VM as an endpoint of both services, the
// files compared key by key with what the lab's real istioctl writes, a
// reboot, token renewal, auto-registration and destroy.
//
// It has its own lab instance ("modern"); tests run one after another and
// each destroys what it applied.
package modern
