package views

import (
	"strings"
	"testing"

	"github.com/meshx-dev/meshx/plans"
)

// TestRawOutput: -raw prints a string alone and other values as JSON; a
// value not known until apply is an error, never "(known after apply)".
func TestRawOutput(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ov      plans.OutputValue
		want    string
		wantErr string
	}{
		{"string", plans.OutputValue{Name: "ip", Value: "10.0.0.1"}, "10.0.0.1", ""},
		{"list", plans.OutputValue{Name: "ips", Value: []any{"a", "b"}}, `["a","b"]`, ""},
		{"unknown", plans.OutputValue{Name: "pilot", Value: plans.Unknown}, "", `output "pilot" is not known yet`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := rawOutput(tc.ov)
			switch {
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("rawOutput = %q, %v; want error containing %q", got, err, tc.wantErr)
			case tc.wantErr == "" && err != nil:
				t.Fatalf("rawOutput: %v", err)
			case got != tc.want:
				t.Errorf("rawOutput = %q, want %q", got, tc.want)
			}
		})
	}
}
