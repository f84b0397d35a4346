package config

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	dns1123LabelRe     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dns1035LabelRe     = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)
	dns1123SubdomainRe = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	qualifiedNameRe    = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	labelValueRe       = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)
	envNameRe          = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	sha256Re           = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
)

// checkDNS1123Label returns "" when s is a DNS-1123 label (lower-case
// alphanumerics and '-', starting and ending alphanumeric, at most 63
// characters), else a sentence saying what is wrong.
func checkDNS1123Label(s string) string {
	switch {
	case s == "":
		return "It is empty."
	case len(s) > 63:
		return fmt.Sprintf("It is %d characters long; the limit is 63.", len(s))
	case !dns1123LabelRe.MatchString(s):
		return "It must consist of lower-case letters, digits and '-', and start and end with a letter or digit (a DNS-1123 label, like \"bookinfo\" or \"istio-system\")."
	}
	return ""
}

// checkDNS1035Label is checkDNS1123Label for names that must also start with
// a letter, as Kubernetes Service names must.
func checkDNS1035Label(s string) string {
	if msg := checkDNS1123Label(s); msg != "" {
		return msg
	}
	if !dns1035LabelRe.MatchString(s) {
		return "It must start with a lower-case letter (a DNS-1035 label, as Kubernetes requires of Service names)."
	}
	return ""
}

// checkDNS1123Subdomain checks names such as service accounts.
func checkDNS1123Subdomain(s string) string {
	switch {
	case s == "":
		return "It is empty."
	case len(s) > 253:
		return fmt.Sprintf("It is %d characters long; the limit is 253.", len(s))
	case !dns1123SubdomainRe.MatchString(s):
		return "It must consist of lower-case letters, digits, '-' and '.', and start and end with a letter or digit (a DNS-1123 subdomain, like \"default\" or \"istio-multi\")."
	}
	return ""
}

// checkLabelKey checks a Kubernetes label or annotation key: an optional
// DNS subdomain prefix and '/', then a name of at most 63 characters.
func checkLabelKey(k string) string {
	name := k
	if i := strings.LastIndexByte(k, '/'); i >= 0 {
		prefix := k[:i]
		name = k[i+1:]
		if msg := checkDNS1123Subdomain(prefix); msg != "" {
			return "Its prefix " + quote(prefix) + " is not a DNS subdomain. " + msg
		}
	}
	switch {
	case name == "":
		return "Its name part is empty."
	case len(name) > 63:
		return fmt.Sprintf("Its name part is %d characters long; the limit is 63.", len(name))
	case !qualifiedNameRe.MatchString(name):
		return "Its name part must consist of letters, digits, '-', '_' and '.', and start and end with a letter or digit (like \"app\" or \"example.com/tier\")."
	}
	return ""
}

// checkLabelValue checks a Kubernetes label value.
func checkLabelValue(v string) string {
	switch {
	case len(v) > 63:
		return fmt.Sprintf("It is %d characters long; the limit is 63.", len(v))
	case !labelValueRe.MatchString(v):
		return "It must be empty or consist of letters, digits, '-', '_' and '.', starting and ending with a letter or digit."
	}
	return ""
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// Suggest returns the candidate closest to name when it is close enough
// to be a likely typo, else "": for "did you mean" outside this package.
func Suggest(name string, candidates []string) string { return nameSuggestion(name, candidates) }
