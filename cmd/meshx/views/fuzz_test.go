package views

import (
	"bytes"
	"strings"
	"testing"

	"github.com/meshx-dev/meshx/planfile"
)

// FuzzRenderers renders every plan a plan file can describe: no renderer
// may panic or pass a control character through, and markdown parts must
// respect the limit.
func FuzzRenderers(f *testing.F) {
	var buf bytes.Buffer
	if err := planfile.Write(&buf, savedPlan(f)); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes(), uint16(3000))
	buf.Reset()
	hostile := planfile.FromPlan(hostilePlan(f))
	hostile.MeshxVersion = hostileText
	if err := planfile.Write(&buf, hostile); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes(), uint16(100))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		pf, err := planfile.Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		p := pf.Plan()
		safe := func(what, out string, color bool) {
			if ctx, bad := unsafeText(out, color); bad {
				t.Fatalf("%s passes a control character through, near %q", what, ctx)
			}
		}
		var b strings.Builder
		if err := PlanText(&b, p, PlanOptions{Order: true, Color: true}); err != nil {
			t.Fatal(err)
		}
		safe("plan text", b.String(), true)
		b.Reset()
		if err := ShowJSON(&b, pf); err != nil {
			t.Fatal(err)
		}
		safe("show -json", b.String(), false)
		b.Reset()
		v := NewJSON(&b, JSONOptions{Version: "x", Now: fixedClock()})
		v.Plan(p)
		safe("-json events", b.String(), false)
		max := int(limit) + 1500
		for i, part := range Markdown(p, MarkdownOptions{MaxLen: max, Order: true}) {
			if len(part) > max {
				t.Fatalf("part %d: %d bytes > %d", i+1, len(part), max)
			}
			safe("markdown", part, false)
		}
	})
}
