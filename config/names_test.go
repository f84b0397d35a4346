package config

import "testing"

func TestSuggest(t *testing.T) {
	for _, tt := range []struct {
		name       string
		candidates []string
		want       string
	}{
		{"alibabacloud", []string{"gcp", "alibaba", "aws", "azure", "none"}, "alibaba"},
		{"GCP", []string{"gcp", "alibaba"}, "gcp"},
		{"azur", []string{"aws", "azure"}, "azure"},
		{"envv", []string{"env", "labels"}, "env"},
		// A near miss beats a prefix: the address with a typo in its key
		// is closer than the bare resource.
		{`vm.v.file["/etc/kubedsn"]`, []string{"vm.v.file", `vm.v.file["/etc/kubedns"]`}, `vm.v.file["/etc/kubedns"]`},
		{"q", []string{"xyzw"}, ""},
		{"completely-else", []string{"gcp", "aws"}, ""},
	} {
		if got := Suggest(tt.name, tt.candidates); got != tt.want {
			t.Errorf("Suggest(%q, %q) = %q, want %q", tt.name, tt.candidates, got, tt.want)
		}
	}
}
