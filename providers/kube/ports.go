package kube

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Port is one port of a Service, an ILB or an Endpoints subset.
type Port struct {
	// Name must be a DNS-1123 label; it may be empty only when there is a
	// single port.
	Name string
	Port int32
	// Protocol is "TCP" (the default when empty), "UDP" or "SCTP".
	Protocol string
}

func protocolOf(p corev1.Protocol) string {
	if p == "" {
		return "TCP"
	}
	return string(p)
}

func normalizePort(p Port, what string) (Port, error) {
	switch p.Protocol = strings.ToUpper(p.Protocol); p.Protocol {
	case "":
		p.Protocol = "TCP"
	case "TCP", "UDP", "SCTP":
	default:
		return Port{}, fmt.Errorf("port %s: protocol %q is not TCP, UDP or SCTP", what, p.Protocol)
	}
	if p.Port < 1 || p.Port > 65535 {
		return Port{}, fmt.Errorf("port %s: number %d is out of range 1-65535", what, p.Port)
	}
	if p.Name != "" {
		if errs := validation.IsDNS1123Label(p.Name); len(errs) > 0 {
			return Port{}, fmt.Errorf("port %s: name %q: %s", what, p.Name, strings.Join(errs, "; "))
		}
	}
	return p, nil
}

// normalizePorts defaults protocols to TCP, validates names, numbers and
// uniqueness as the API server would, and sorts by port then protocol so
// that rendered and observed lists compare equal whatever order the
// configuration used.
func normalizePorts(ports []Port) ([]Port, error) {
	if len(ports) == 0 {
		return nil, fmt.Errorf("at least one port is required")
	}
	out := make([]Port, 0, len(ports))
	names := map[string]bool{}
	keys := map[portKey]bool{}
	for _, p := range ports {
		what := p.Name
		if what == "" {
			what = strconv.Itoa(int(p.Port))
		}
		n, err := normalizePort(p, what)
		if err != nil {
			return nil, err
		}
		if n.Name == "" && len(ports) > 1 {
			return nil, fmt.Errorf("port %d: every port needs a name when there are several", n.Port)
		}
		if n.Name != "" && names[n.Name] {
			return nil, fmt.Errorf("port name %q is used twice", n.Name)
		}
		k := portKey{n.Port, n.Protocol}
		if keys[k] {
			return nil, fmt.Errorf("port %d/%s is declared twice", n.Port, n.Protocol)
		}
		names[n.Name], keys[k] = true, true
		out = append(out, n)
	}
	sortPorts(out)
	return out, nil
}

// portKey identifies a Service port as the API server's list-map does.
type portKey struct {
	port     int32
	protocol string
}

func sortPorts(ps []Port) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Port != ps[j].Port {
			return ps[i].Port < ps[j].Port
		}
		return ps[i].Protocol < ps[j].Protocol
	})
}

// portsValue is the attribute form of ports.
func portsValue(ps []Port) []any {
	out := make([]any, len(ps))
	for i, p := range ps {
		out[i] = map[string]any{"name": p.Name, "port": int64(p.Port), "protocol": p.Protocol}
	}
	return out
}
