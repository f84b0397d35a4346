package config

import "github.com/meshx-dev/meshx/istio"

// profile returns the named Istio profile, or the default one when the name
// is unknown (that error is reported where the name is written).
func profileByName(name string) *istio.Profile {
	if p, ok := istio.Lookup(name); ok {
		return p
	}
	p, _ := istio.Lookup(istio.DefaultProfile)
	return p
}
