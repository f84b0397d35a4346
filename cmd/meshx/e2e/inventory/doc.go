// Package inventory checks, on its own lab instance ("inventory"), what
// meshx does across configurations of one mesh: several environments in
// one control cluster, one using the load balancers another owns by
// reference.
package inventory
