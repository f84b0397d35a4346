package vm

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/meshx-dev/meshx/providers"
)

// Benchmarks against the host's own sshd (no lab needed): the cost of the
// protocol and the observe script itself. The lab benchmarks in
// lab_test.go add packages and units on real lab VMs.

func localFiles(b *testing.B, vmName, dir string, n int) []providers.Resource {
	var rs []providers.Resource
	for i := 0; i < n; i++ {
		rs = append(rs, File(vmName, FileOptions{
			Path:      filepath.Join(dir, fmt.Sprintf("f%d.conf", i)),
			Content:   text("KEY=value\n"),
			Mode:      0o644,
			Owner:     "root",
			Group:     "root",
			Sensitive: i%3 == 0,
		}))
	}
	return rs
}

// BenchmarkObserveLocal10Files observes 10 files (a third sensitive) over
// a warm connection.
func BenchmarkObserveLocal10Files(b *testing.B) {
	s := startSSHD(b)
	p := s.provider(b, s.host("bench"))
	ctx := context.Background()
	rs := localFiles(b, "bench", b.TempDir(), 10)
	converge(b, ctx, p, "bench", rs)
	b.ResetTimer()
	for b.Loop() {
		if resp := p.Observe(ctx, providers.ObserveRequest{Environment: "bench", Resources: rs}); resp.Err != nil {
			b.Fatal(resp.Err)
		}
	}
}

// BenchmarkObserveLocal50Parallel connects 50 providers (as for 50 VMs)
// to one sshd and observes 10 files each, all at once: connection setup
// included, as in a plan.
func BenchmarkObserveLocal50Parallel(b *testing.B) {
	s := startSSHD(b)
	dir := b.TempDir()
	ctx := context.Background()
	warm := s.provider(b, s.host("bench"))
	converge(b, ctx, warm, "bench", localFiles(b, "bench", dir, 10))
	b.ResetTimer()
	for b.Loop() {
		errs := make(chan error, 50)
		for i := 0; i < 50; i++ {
			go func() {
				h := s.host("bench")
				h.Timeout = 2 * time.Minute // 50 observers share this machine's CPUs
				p := New(h)
				p.stateDir = warm.stateDir
				defer p.Close()
				errs <- p.Observe(ctx, providers.ObserveRequest{Environment: "bench", Resources: localFiles(b, "bench", dir, 10)}).Err
			}()
		}
		for i := 0; i < 50; i++ {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
	}
}
