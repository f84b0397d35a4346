package kube

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshx-dev/meshx/lab"
	"github.com/meshx-dev/meshx/plans"
	"github.com/meshx-dev/meshx/providers"
)

// benchRuns numbers benchmark iterations across calls, so no iteration
// reuses a namespace an earlier one is still deleting.
var benchRuns int

// BenchmarkRegister200 plans and applies 200 registered VM services
// (Service + Endpoints each, plus their namespace) against the lab's
// control cluster, as `meshx apply` would with the executor's default
// parallelism of 10, then plans again (which must be empty). It reports
// each phase separately:
//
//	observe-ms   first Observe (nothing exists yet)
//	apply-ms     401 creates
//	replan-ms    second Observe of 401 existing instances
func BenchmarkRegister200(b *testing.B) {
	const services, parallelism = 200, 10
	l := lab.Get(b)
	if q := os.Getenv("MESHX_BENCH_QPS"); q != "" {
		f, _ := strconv.ParseFloat(q, 32)
		old := defaultQPS
		defaultQPS = float32(f)
		b.Cleanup(func() { defaultQPS = old })
	}
	p := providerFor(b, l, "control")
	cs := l.Clientset(b, "control")
	ctx := context.Background()
	var observe, apply, replan time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		benchRuns++
		e := fmt.Sprintf("bench-%s-%d", runID, benchRuns)
		rs := []providers.Resource{Namespace("control", e)}
		for j := 0; j < services; j++ {
			name := fmt.Sprintf("svc-%03d", j)
			ports := []Port{{Name: "http", Port: 9080}, {Name: "grpc", Port: 9090}}
			ips := []string{fmt.Sprintf("10.251.%d.%d", j/200, 10+j%200), "10.251.9.9"}
			rs = append(rs,
				Service(svcAddr(name, "service"), "control", e, name, ports, nil, map[string]string{ServiceAccountsAnnotation: "default"}),
				Endpoints(svcAddr(name, "endpoints"), "control", e, name, ips, ports, nil))
		}
		b.StartTimer()

		t0 := time.Now()
		resp := p.Observe(ctx, providers.ObserveRequest{Environment: e, Resources: rs})
		observe += time.Since(t0)
		if resp.Err != nil {
			b.Fatal(resp.Err)
		}

		t0 = time.Now()
		applyOne := func(r providers.Resource) {
			d, err := r.Render(nil)
			if err != nil {
				b.Error(err)
				return
			}
			ar := p.Apply(ctx, providers.ApplyRequest{Environment: e, Resource: &r, Desired: d,
				Change: plans.Change{Addr: r.Addr, Action: plans.Create}, Observed: resp.Objects[r.Addr]})
			if ar.Err != nil {
				b.Error(ar.Err)
			}
		}
		applyOne(rs[0]) // the namespace first
		sem := make(chan struct{}, parallelism)
		var wg sync.WaitGroup
		for _, r := range rs[1:] {
			wg.Add(1)
			sem <- struct{}{}
			go func(r providers.Resource) {
				defer wg.Done()
				defer func() { <-sem }()
				applyOne(r)
			}(r)
		}
		wg.Wait()
		apply += time.Since(t0)
		if b.Failed() {
			b.FailNow()
		}

		t0 = time.Now()
		again := p.Observe(ctx, providers.ObserveRequest{Environment: e, Resources: rs})
		replan += time.Since(t0)
		b.StopTimer()
		if again.Err != nil {
			b.Fatal(again.Err)
		}
		for _, r := range rs {
			d, _ := r.Render(nil)
			o := again.Objects[r.Addr]
			if !o.Exists || !o.Owned || len(diffKeys(d, o.Object)) > 0 {
				b.Fatalf("%s after apply: exists=%v owned=%v diff=%v", r.Addr, o.Exists, o.Owned, diffKeys(d, o.Object))
			}
		}
		if err := cs.CoreV1().Namespaces().Delete(ctx, e, metav1.DeleteOptions{}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(observe.Milliseconds())/n, "observe-ms")
	b.ReportMetric(float64(apply.Milliseconds())/n, "apply-ms")
	b.ReportMetric(float64(replan.Milliseconds())/n, "replan-ms")
}
