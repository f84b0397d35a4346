// Package multicluster applies examples/multicluster, unchanged, to the
// lab's control and remote1 clusters and checks the remote secret, the
// reader account's rights, the services registered in remote1 and the
// outputs. It has its own lab instance ("multicluster").
package multicluster
