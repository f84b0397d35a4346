package planfile

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/meshx-dev/meshx/plans"
)

func TestCompare(t *testing.T) {
	a := mustAddr(t, `vm.ecs1.file["/a"]`)
	b := mustAddr(t, `vm.ecs1.file["/b"]`)
	c := mustAddr(t, `vm.ecs1.unit["c"]`)
	d := mustAddr(t, `cluster.control.ilb["d"]`)
	digest1 := "1111111111111111aaaa"
	digest2 := "2222222222222222bbbb"
	was := plans.Precondition{Exists: true, Digest: digest1, Details: map[string]string{"resourceVersion": "10"}}
	now := plans.Precondition{Exists: true, Digest: digest2, Details: map[string]string{"resourceVersion": "11"}}
	absent := plans.Precondition{}
	ch := func(addr plans.Address, act plans.Action, pre plans.Precondition) plans.Change {
		return plans.Change{Addr: addr, Action: act, Precondition: pre}
	}
	// sens is an update of a's sensitive content.
	sens := func(addr plans.Address, content any) plans.Change {
		c := ch(addr, plans.Update, was)
		c.After, c.Sensitive = plans.Object{"content": content, "mode": "0600"}, []string{"content"}
		return c
	}
	for _, tc := range []struct {
		name         string
		saved, fresh []plans.Change
		want         []string
	}{
		{"identical", []plans.Change{ch(a, plans.Update, was), ch(b, plans.NoOp, was)},
			[]plans.Change{ch(a, plans.Update, was), ch(b, plans.NoOp, was)}, nil},
		{"no-op whose object moved is fine", []plans.Change{ch(b, plans.NoOp, was)}, []plans.Change{ch(b, plans.NoOp, now)}, nil},
		{"precondition changed", []plans.Change{ch(a, plans.Update, was)}, []plans.Change{ch(a, plans.Update, now)},
			[]string{`vm.ecs1.file["/a"]: precondition changed: was digest 111111111111 exists=true, now digest 222222222222 exists=true (resourceVersion 10 → 11)`}},
		{"object deleted since", []plans.Change{ch(a, plans.Update, was)}, []plans.Change{ch(a, plans.Create, absent)},
			[]string{`vm.ecs1.file["/a"]: precondition changed: was digest 111111111111 exists=true, now exists=false (resourceVersion 10 → (none)); action differs: update → create`}},
		{"action differs", []plans.Change{ch(a, plans.Update, was)}, []plans.Change{ch(a, plans.NoOp, was)},
			[]string{`vm.ecs1.file["/a"]: action differs: update → no-op`}},
		{"no longer planned", []plans.Change{ch(c, plans.Delete, was)}, nil,
			[]string{`vm.ecs1.unit["c"]: no longer planned`}},
		{"new change", []plans.Change{ch(a, plans.NoOp, was)}, []plans.Change{ch(a, plans.NoOp, was), ch(d, plans.Create, absent)},
			[]string{`cluster.control.ilb["d"]: new change not in saved plan (create)`}},
		{"saved no-op now changes", []plans.Change{ch(b, plans.NoOp, was)}, []plans.Change{ch(b, plans.Update, was)},
			[]string{`vm.ecs1.file["/b"]: action differs: no-op → update`}},
		{"a read changes nothing", []plans.Change{ch(b, plans.Read, absent), ch(c, plans.Read, absent)},
			[]plans.Change{ch(b, plans.NoOp, was), ch(c, plans.Read, absent), ch(d, plans.Read, absent)}, nil},
		{"saved read now changes", []plans.Change{ch(b, plans.Read, absent)}, []plans.Change{ch(b, plans.Update, was)},
			[]string{`vm.ecs1.file["/b"]: precondition changed: was exists=false, now digest 111111111111 exists=true (resourceVersion (none) → 10); action differs: read → update`}},
		{"a secret changed since", []plans.Change{sens(a, "sha256:aaaaaaaaaaaa")}, []plans.Change{sens(a, "sha256:bbbbbbbbbbbb")},
			[]string{`vm.ecs1.file["/a"]: sensitive value changed: content sha256:aaaaaaaaaaaa → sha256:bbbbbbbbbbbb`}},
		{"a secret still the same", []plans.Change{sens(a, "sha256:aaaaaaaaaaaa")}, []plans.Change{sens(a, "sha256:aaaaaaaaaaaa")}, nil},
		{"a secret known only after apply", []plans.Change{sens(a, plans.Unknown)}, []plans.Change{sens(a, "sha256:bbbbbbbbbbbb")}, nil},
		{"a secret now known only after apply", []plans.Change{sens(a, "sha256:aaaaaaaaaaaa")}, []plans.Change{sens(a, plans.Unknown)},
			[]string{`vm.ecs1.file["/a"]: sensitive value changed: content sha256:aaaaaaaaaaaa → (known after apply)`}},
		{"sorted by address", []plans.Change{ch(c, plans.Delete, was), ch(a, plans.Update, was)}, []plans.Change{ch(d, plans.Create, absent)},
			[]string{`cluster.control.ilb["d"]: new change not in saved plan (create)`, `vm.ecs1.file["/a"]: no longer planned`, `vm.ecs1.unit["c"]: no longer planned`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, m := range Compare(tc.saved, &plans.Plan{Changes: tc.fresh}) {
				got = append(got, m.String())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
