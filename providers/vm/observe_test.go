package vm

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseUnitStates reads the units of one systemctl show call as real
// systemd prints them: its own property order (not the -p order), a blank
// line between units, an empty UnitFileState for a unit without a unit file
// (printed because -p asked for it); and the lab's stand-in, which prints
// the -p order. A unit name systemctl would refuse comes as a U record.
func TestParseUnitStates(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		want      map[string]unitStat
		err       bool
	}{{
		name: "systemd",
		out: "U m3 none none\n#U r0 r1 m2\n" +
			"ActiveState=active\nUnitFileState=enabled\n\n" +
			"ActiveState=inactive\nUnitFileState=\n\n" +
			"ActiveState=failed\nUnitFileState=masked\n\n#E\n",
		want: map[string]unitStat{
			"r0": {"enabled", "active"}, "r1": {"none", "inactive"},
			"m2": {"masked", "failed"}, "m3": {"none", "none"},
		},
	}, {
		name: "stand-in, no final newline",
		out:  "#U r0 r1\nUnitFileState=disabled\nActiveState=inactive\n\nUnitFileState=static\nActiveState=active\n#E\n",
		want: map[string]unitStat{"r0": {"disabled", "inactive"}, "r1": {"static", "active"}},
	}, {
		name: "no systemctl",
		out:  "#U r0\n\n#E\n",
		want: map[string]unitStat{"r0": {"none", "none"}},
	}, {
		name: "a unit missing from the answer",
		out:  "#U r0 r1\nUnitFileState=enabled\nActiveState=active\n\n#E\n",
		err:  true,
	}, {
		name: "not a property",
		out:  "#U r0\nFailed to connect to bus\n\n#E\n",
		err:  true,
	}, {
		name: "cut before #E",
		out:  "#U r0\nUnitFileState=enabled\n",
		err:  true,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseObservation([]byte(tc.out + "#S\n#H\nZ\n"))
			if tc.err {
				if err == nil {
					t.Fatalf("no error; units %v", o.units)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, o.units, cmp.AllowUnexported(unitStat{})); d != "" {
				t.Errorf("units (-want +got):\n%s", d)
			}
		})
	}
}
