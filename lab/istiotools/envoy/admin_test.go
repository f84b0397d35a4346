package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"istio.io/istio/pilot/cmd/pilot-agent/status/ready"
	"istio.io/istio/pkg/envoy"
)

// TestAdminAsPilotAgentSeesIt checks the stand-in's admin interface with
// pilot-agent's own readiness probe and drain call: not ready before ADS
// delivered clusters and listeners, ready after.
func TestAdminAsPilotAgentSeesIt(t *testing.T) {
	quit := make(chan struct{})
	adm := &admin{quit: func() { close(quit) }}
	srv := httptest.NewServer(adm.handler())
	t.Cleanup(srv.Close)
	host, p, err := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(p)
	probe := &ready.Probe{LocalHostAddr: host, AdminPort: uint16(port)}

	if err := probe.Check(); err == nil || !strings.Contains(err.Error(), "config not received") {
		t.Errorf("before ADS: probe error %v, want config not received", err)
	}
	get(t, srv.URL+"/ready", http.StatusServiceUnavailable)
	adm.accepted(typeCluster)
	if err := probe.Check(); err == nil || !strings.Contains(err.Error(), "config not fully received") {
		t.Errorf("after CDS alone: probe error %v, want config not fully received", err)
	}
	adm.accepted(typeListener)
	if err := probe.Check(); err != nil {
		t.Errorf("after CDS and LDS: %v", err)
	}
	get(t, srv.URL+"/ready", http.StatusOK)

	if err := envoy.DrainListeners(uint32(port), true, false); err != nil {
		t.Errorf("drain_listeners: %v", err)
	}
	get(t, srv.URL+"/quitquitquit", http.StatusMethodNotAllowed)
	resp, err := http.Post(srv.URL+"/quitquitquit", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case <-quit:
	default:
		t.Error("POST /quitquitquit did not quit")
	}
}

func get(t *testing.T, url string, want int) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Errorf("GET %s: %s, want %d", url, resp.Status, want)
	}
}

func TestRenderStats(t *testing.T) {
	adm := &admin{}
	for _, tc := range []struct {
		name, filter string
		usedOnly     bool
		accepted     []string
		want         string
	}{
		{name: "all before ADS", want: "cluster_manager.cds.update_success: 0\nlistener_manager.lds.update_success: 0\nlistener_manager.workers_started: 0\nserver.state: 2\n"},
		{name: "used only before ADS", usedOnly: true, want: "server.state: 2\n"},
		{name: "readiness after ADS", filter: `^(server\.state|listener_manager\.workers_started)`, usedOnly: true,
			accepted: []string{typeCluster, typeListener, typeCluster}, want: "listener_manager.workers_started: 1\nserver.state: 0\n"},
		{name: "updates", filter: `^(cluster_manager\.cds|listener_manager\.lds)\.(update_success|update_rejected)$`, usedOnly: true,
			want: "cluster_manager.cds.update_success: 2\nlistener_manager.lds.update_success: 1\n"},
		{name: "active connections", filter: `downstream_cx_active$`, usedOnly: true, want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, u := range tc.accepted {
				adm.accepted(u)
			}
			rec := httptest.NewRecorder()
			q := "/stats?filter=" + tc.filter
			if tc.usedOnly {
				q = "/stats?usedonly&filter=" + tc.filter
			}
			adm.handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, q, nil))
			if got := rec.Body.String(); got != tc.want {
				t.Errorf("GET %s:\n%s\nwant:\n%s", q, got, tc.want)
			}
		})
	}
}

func TestReadBootstrapAdmin(t *testing.T) {
	file := filepath.Join(t.TempDir(), "envoy-rev.json")
	bs := `{"node": {"id": "sidecar~10.0.0.1~vm.ns~ns.svc.cluster.local"},
		"admin": {"profile_path": "/var/lib/istio/data/envoy.prof",
			"address": {"socket_address": {"address": "127.0.0.1", "port_value": 15000}}}}`
	if err := os.WriteFile(file, []byte(bs), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := readBootstrap(file)
	if err != nil {
		t.Fatal(err)
	}
	if b.admin != "127.0.0.1:15000" {
		t.Errorf("admin address %q, want 127.0.0.1:15000", b.admin)
	}
}
