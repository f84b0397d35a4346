package lab_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/meshx-dev/meshx/lab"
)

// The speed targets, with binaries cached: lab-up with 2 clusters
// and 2 VMs under 20 s, with 50 VMs under 60 s. Each iteration brings a
// fresh instance up (timed) and down (not timed).
func BenchmarkUp2Clusters2VMs(b *testing.B)  { benchmarkUp(b, 2) }
func BenchmarkUp2Clusters50VMs(b *testing.B) { benchmarkUp(b, 50) }

func benchmarkUp(b *testing.B, vms int) {
	o := lab.Options{Name: "bench-up", VMs: vms}
	if err := lab.Preconditions(o); err != nil {
		if errors.Is(err, lab.ErrUnavailable) && os.Getenv(lab.RequiredEnv) != "1" {
			b.Skipf("skipping: %v", err)
		}
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Cleanup(func() { lab.Down(ctx, o) })
	if err := lab.Down(ctx, o); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		if _, err := lab.Up(ctx, o); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := lab.Down(ctx, o); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
