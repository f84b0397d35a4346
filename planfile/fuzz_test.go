package planfile

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzRead feeds arbitrary bytes to Read: it must never panic, and a file
// it accepts must write and read back to the same File.
func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	if err := Write(&buf, sample(f)); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(`{"format_version": 1, "changes": [{"address": "vm.a.unit[\"u\"]", "action": "create", "after": {"x": {"__meshx_map": {"__meshx_unknown": true}}}}]}`))
	f.Add([]byte(`{"format_version": 1, "outputs": [{"name": "n", "value": 1e400}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		first, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := Write(&out, first); err != nil {
			t.Fatalf("a file Read accepted cannot be written: %v", err)
		}
		second, err := Read(&out)
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if diff := cmp.Diff(first, second); diff != "" {
			t.Fatalf("write/read changed the file (-first +second):\n%s", diff)
		}
	})
}
