package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Envoy's server.state values (envoy.admin.v3.ServerInfo.State), which
// pilot-agent's readiness probe (pilot/cmd/pilot-agent/status/ready)
// compares against LIVE.
const (
	stateLive            = 0
	statePreInitializing = 2
)

// Names of the stats pilot-agent reads (pilot/cmd/pilot-agent/status/util:
// stats.go).
const (
	statServerState    = "server.state"
	statWorkersStarted = "listener_manager.workers_started"
	statCDSSuccess     = "cluster_manager.cds.update_success"
	statLDSSuccess     = "listener_manager.lds.update_success"
)

// admin is the part of Envoy's admin interface pilot-agent uses, with
// Envoy's answers: its readiness probe (and so the workload health checks
// it reports to istiod, pkg/istio-agent/health) reads /stats for the CDS
// and LDS update counters, server.state and workers_started; on shutdown
// it POSTs /drain_listeners (pkg/envoy/admin.go). Like Envoy, the server is
// PRE_INITIALIZING until its first clusters and listeners came over ADS,
// then LIVE with its workers started. /ready and /quitquitquit answer as
// Envoy's do, for people poking at the VM.
type admin struct {
	quit func() // ends the process, for /quitquitquit

	mu       sync.Mutex
	cds, lds uint64 // accepted CDS and LDS responses
}

// accepted counts an acked ADS response of type typeURL.
func (a *admin) accepted(typeURL string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch typeURL {
	case typeCluster:
		a.cds++
	case typeListener:
		a.lds++
	}
}

// stats returns the stats Envoy would have now. A counter never
// incremented or a gauge never set is absent when usedOnly, as with
// Envoy's ?usedonly: workers_started is set only when the workers start.
func (a *admin) stats(usedOnly bool) map[string]uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	live := a.cds > 0 && a.lds > 0
	s := map[string]uint64{statServerState: statePreInitializing, statCDSSuccess: a.cds, statLDSSuccess: a.lds}
	if live {
		s[statServerState] = stateLive
		s[statWorkersStarted] = 1
	} else if !usedOnly {
		s[statWorkersStarted] = 0
	}
	if usedOnly {
		for _, n := range []string{statCDSSuccess, statLDSSuccess} {
			if s[n] == 0 {
				delete(s, n)
			}
		}
	}
	return s
}

// renderStats writes stats in Envoy's text format ("name: value" lines,
// sorted by name), keeping only names filter matches anywhere (Envoy's
// ?filter, an RE2 regular expression) when filter is not nil.
func renderStats(stats map[string]uint64, filter *regexp.Regexp) string {
	names := make([]string, 0, len(stats))
	for n := range stats {
		if filter == nil || filter.MatchString(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s: %d\n", n, stats[n])
	}
	return b.String()
}

func (a *admin) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var filter *regexp.Regexp
		if f := q.Get("filter"); f != "" {
			var err error
			if filter, err = regexp.Compile(f); err != nil {
				http.Error(w, "Invalid re2 regex", http.StatusBadRequest)
				return
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		fmt.Fprint(w, renderStats(a.stats(q.Has("usedonly")), filter))
	})
	mux.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) {
		if a.stats(false)[statServerState] != stateLive {
			http.Error(w, "PRE_INITIALIZING", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "LIVE")
	})
	// There are no listeners to drain: the stand-in serves no traffic.
	mux.HandleFunc("/drain_listeners", post(func(w http.ResponseWriter, r *http.Request) {
		log.Printf("admin: drain_listeners?%s", r.URL.RawQuery)
		fmt.Fprintln(w, "OK")
	}))
	mux.HandleFunc("/quitquitquit", post(func(w http.ResponseWriter, r *http.Request) {
		log.Print("admin: quitquitquit")
		fmt.Fprintln(w, "OK")
		w.(http.Flusher).Flush()
		a.quit()
	}))
	return mux
}

// post refuses other methods, as Envoy's admin does for its mutating
// endpoints.
func post(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "This endpoint requires POST", http.StatusMethodNotAllowed)
			return
		}
		h(w, r)
	}
}

// serve runs the admin interface on addr until ctx ends.
func (a *admin) serve(ctx context.Context, addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	srv := &http.Server{Handler: a.handler()}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	log.Printf("admin on %s", l.Addr())
	if err := srv.Serve(l); err != http.ErrServerClosed {
		return fmt.Errorf("admin: %w", err)
	}
	return nil
}
