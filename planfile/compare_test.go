package planfile

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshx-dev/meshx/providers"
)

func TestCompare(t *testing.T) {
	a := mustAddr(t, `vm.ecs1.file["/a"]`)
	b := mustAddr(t, `vm.ecs1.file["/b"]`)
	c := mustAddr(t, `vm.ecs1.unit["c"]`)
	d := mustAddr(t, `cluster.control.ilb["d"]`)
	digest1 := "1111111111111111aaaa"
	digest2 := "2222222222222222bbbb"
	was := providers.Precondition{Exists: true, Digest: digest1, Details: map[string]string{"resourceVersion": "10"}}
	now := providers.Precondition{Exists: true, Digest: digest2, Details: map[string]string{"resourceVersion": "11"}}
	absent := providers.Precondition{}
	ch := func(addr providers.Address, act providers.Action, pre providers.Precondition) providers.Change {
		return providers.Change{Addr: addr, Action: act, Precondition: pre}
	}
	// sens is an update of a's sensitive content.
	sens := func(addr providers.Address, content any) providers.Change {
		c := ch(addr, providers.Update, was)
		c.After, c.Sensitive = providers.Object{"content": content, "mode": "0600"}, []string{"content"}
		return c
	}
	for _, tc := range []struct {
		name         string
		saved, fresh []providers.Change
		want         []string
	}{
		{"identical", []providers.Change{ch(a, providers.Update, was), ch(b, providers.NoOp, was)},
			[]providers.Change{ch(a, providers.Update, was), ch(b, providers.NoOp, was)}, nil},
		{"no-op whose object moved is fine", []providers.Change{ch(b, providers.NoOp, was)}, []providers.Change{ch(b, providers.NoOp, now)}, nil},
		{"precondition changed", []providers.Change{ch(a, providers.Update, was)}, []providers.Change{ch(a, providers.Update, now)},
			[]string{`vm.ecs1.file["/a"]: precondition changed: was digest 111111111111 exists=true, now digest 222222222222 exists=true (resourceVersion 10 → 11)`}},
		{"object deleted since", []providers.Change{ch(a, providers.Update, was)}, []providers.Change{ch(a, providers.Create, absent)},
			[]string{`vm.ecs1.file["/a"]: precondition changed: was digest 111111111111 exists=true, now exists=false (resourceVersion 10 → (none)); action differs: update → create`}},
		{"action differs", []providers.Change{ch(a, providers.Update, was)}, []providers.Change{ch(a, providers.NoOp, was)},
			[]string{`vm.ecs1.file["/a"]: action differs: update → no-op`}},
		{"no longer planned", []providers.Change{ch(c, providers.Delete, was)}, nil,
			[]string{`vm.ecs1.unit["c"]: no longer planned`}},
		{"new change", []providers.Change{ch(a, providers.NoOp, was)}, []providers.Change{ch(a, providers.NoOp, was), ch(d, providers.Create, absent)},
			[]string{`cluster.control.ilb["d"]: new change not in saved plan (create)`}},
		{"saved no-op now changes", []providers.Change{ch(b, providers.NoOp, was)}, []providers.Change{ch(b, providers.Update, was)},
			[]string{`vm.ecs1.file["/b"]: action differs: no-op → update`}},
		{"a read changes nothing", []providers.Change{ch(b, providers.Read, absent), ch(c, providers.Read, absent)},
			[]providers.Change{ch(b, providers.NoOp, was), ch(c, providers.Read, absent), ch(d, providers.Read, absent)}, nil},
		{"saved read now changes", []providers.Change{ch(b, providers.Read, absent)}, []providers.Change{ch(b, providers.Update, was)},
			[]string{`vm.ecs1.file["/b"]: precondition changed: was exists=false, now digest 111111111111 exists=true (resourceVersion (none) → 10); action differs: read → update`}},
		{"a secret changed since", []providers.Change{sens(a, "sha256:aaaaaaaaaaaa")}, []providers.Change{sens(a, "sha256:bbbbbbbbbbbb")},
			[]string{`vm.ecs1.file["/a"]: sensitive value changed: content sha256:aaaaaaaaaaaa → sha256:bbbbbbbbbbbb`}},
		{"a secret still the same", []providers.Change{sens(a, "sha256:aaaaaaaaaaaa")}, []providers.Change{sens(a, "sha256:aaaaaaaaaaaa")}, nil},
		{"a secret known only after apply", []providers.Change{sens(a, providers.Unknown)}, []providers.Change{sens(a, "sha256:bbbbbbbbbbbb")}, nil},
		{"a secret now known only after apply", []providers.Change{sens(a, "sha256:aaaaaaaaaaaa")}, []providers.Change{sens(a, providers.Unknown)},
			[]string{`vm.ecs1.file["/a"]: sensitive value changed: content sha256:aaaaaaaaaaaa → (known after apply)`}},
		{"sorted by address", []providers.Change{ch(c, providers.Delete, was), ch(a, providers.Update, was)}, []providers.Change{ch(d, providers.Create, absent)},
			[]string{`cluster.control.ilb["d"]: new change not in saved plan (create)`, `vm.ecs1.file["/a"]: no longer planned`, `vm.ecs1.unit["c"]: no longer planned`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, m := range Compare(tc.saved, &providers.Plan{Changes: tc.fresh}) {
				got = append(got, m.String())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
