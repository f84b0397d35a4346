package views

import (
	"bytes"
	"io"
	"testing"

	"github.com/meshx-dev/meshx/planfile"
)

// FuzzRenderers renders every plan a plan file can describe: no renderer
// may panic, and markdown parts must respect the limit.
func FuzzRenderers(f *testing.F) {
	var buf bytes.Buffer
	if err := planfile.Write(&buf, savedPlan(f)); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes(), uint16(3000))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		pf, err := planfile.Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		p := pf.Plan()
		if err := PlanText(io.Discard, p, PlanOptions{Order: true, Color: true}); err != nil {
			t.Fatal(err)
		}
		if err := ShowJSON(io.Discard, pf); err != nil {
			t.Fatal(err)
		}
		v := NewJSON(io.Discard, JSONOptions{Version: "x", Now: fixedClock()})
		v.Plan(p)
		max := int(limit) + 1500
		for i, part := range Markdown(p, MarkdownOptions{MaxLen: max, Order: true}) {
			if len(part) > max {
				t.Fatalf("part %d: %d bytes > %d", i+1, len(part), max)
			}
		}
	})
}
