package debfile

import (
	"strings"
	"testing"
)

func TestReadMagic(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"!<arch>\ndebian-binary   ", true},
		{"!<arch>\n", true},
		{"!<arch>", false},
		{"PK\x03\x04 zip, not a deb", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := ReadMagic(strings.NewReader(tt.in)); got != tt.want {
			t.Errorf("ReadMagic(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
