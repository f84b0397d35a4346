// Command meshx-lab builds, starts, stops and reports on the meshx lab:
// real Kubernetes clusters and sshd VMs on this machine (see package lab).
//
//	meshx-lab build                          build etcd, kube-apiserver, kube-controller-manager (cached)
//	meshx-lab up [-name N] [-clusters a,b] [-vms 2]
//	meshx-lab down [-name N]
//	meshx-lab status [-name N]
//	meshx-lab lb-mode [-name N] CLUSTER ip|hostname|never
//	meshx-lab controller -cluster NAME -dir DIR   (what up starts in the background)
package main
