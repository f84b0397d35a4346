package kube

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// The helpers here check configuration values as the API server would and
// turn them into attribute values, for every kind's render and project.

// reservedKey reports whether a label or annotation key is one meshx sets
// itself, so configuration may not.
func reservedKey(k string) bool {
	return k == LabelManagedBy || strings.HasPrefix(k, meshxAnnotationKeyPrefix)
}

func checkMap(what string, m map[string]string) error {
	for k, v := range m {
		if reservedKey(k) {
			return fmt.Errorf("%s %q is reserved for meshx's ownership marks", what, k)
		}
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return fmt.Errorf("%s key %q: %s", what, k, strings.Join(errs, "; "))
		}
		if what == "label" {
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				return fmt.Errorf("label %s=%q: %s", k, v, strings.Join(errs, "; "))
			}
		}
	}
	return nil
}

func mapValue(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func checkNamespacedName(namespace, name string) error {
	if errs := validation.IsDNS1123Label(namespace); len(errs) > 0 {
		return fmt.Errorf("namespace %q: %s", namespace, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1035Label(name); len(errs) > 0 {
		return fmt.Errorf("name %q: %s", name, strings.Join(errs, "; "))
	}
	return nil
}

func stringsValue(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
