package vm

import (
	"strings"
	"testing"
)

func FuzzParseObservation(f *testing.F) {
	f.Add([]byte("M -\n#S\n81a4 644 root root 0 0 3 /etc/x\nC YWJj /etc/x\n#H\n" + strings.Repeat("a", 64) + "  /etc/x\nZ\n"))
	f.Add([]byte("L r0 1\nP dnsmasq\tinstall ok installed\t2.89-1\n#U r1\nUnitFileState=enabled\nActiveState=active\n\n#E\nK m1 file /x\nX other unit istio\n#S\n#H\nZ\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		o, err := parseObservation(out)
		if err != nil {
			return
		}
		for _, st := range o.files {
			if st.state == "f" {
				_ = st.fingerprint() // a regular file always has its hash
			}
		}
	})
}
