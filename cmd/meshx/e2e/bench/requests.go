package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// requestStats are the API server's own counts of the requests it served
// and the time it spent on them, by verb, for the Services and Endpoints
// (apiserver_request_total and apiserver_request_duration_seconds from
// its /metrics), and of its calls to etcd for them ("etcd get", "etcd
// update", …; a Service's cluster IP counts as the Service's): they say
// how many requests each side of P2 sends per object, what each costs the
// server and how much of that is waiting on etcd, which no client-side
// timing of a whole run can.
type requestStats map[string]*verbStats

type verbStats struct {
	n   float64
	sum float64 // seconds
}

// metricRE matches the samples of the request metrics and of the API
// server's calls to etcd (etcd_request_duration_seconds, by operation):
// name, labels, value.
var metricRE = regexp.MustCompile(`^(apiserver_request_total|apiserver_request_duration_seconds_sum|etcd_request_duration_seconds_count|etcd_request_duration_seconds_sum)\{([^}]*)\} (\S+)$`)

// scrapeRequests reads the API server's request metrics through kubectl.
func scrapeRequests(ctx context.Context, kubectl, kubeconfig string) (requestStats, error) {
	out, err := exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfig, "get", "--raw", "/metrics").Output()
	if err != nil {
		return nil, fmt.Errorf("kubectl get --raw /metrics: %w", err)
	}
	st := requestStats{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		m := metricRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		labels := map[string]string{}
		for _, kv := range strings.Split(m[2], ",") {
			k, v, _ := strings.Cut(kv, "=")
			labels[k] = strings.Trim(v, `"`)
		}
		verb := labels["verb"]
		if op := labels["operation"]; op != "" {
			// A Service's cluster IP is an IPAddress object of its own.
			verb = "etcd " + op
			if labels["resource"] == "ipaddresses" {
				labels["group"], labels["resource"] = "", "services"
			}
		}
		// Watches last as long as their watcher: not requests of a run.
		if labels["group"] != "" || (labels["resource"] != "services" && labels["resource"] != "endpoints") || labels["subresource"] != "" || verb == "WATCH" {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			continue
		}
		if st[verb] == nil {
			st[verb] = &verbStats{}
		}
		if strings.HasSuffix(m[1], "_sum") {
			st[verb].sum += v
		} else {
			st[verb].n += v
		}
	}
	return st, sc.Err()
}

// since is what the server served between before and s.
func (s requestStats) since(before requestStats) requestStats {
	out := requestStats{}
	for verb, v := range s {
		d := *v
		if b := before[verb]; b != nil {
			d.n -= b.n
			d.sum -= b.sum
		}
		if d.n > 0 {
			out[verb] = &d
		}
	}
	return out
}

// String reads "400 APPLY (mean 41 ms in the API server), 2 LIST (…)",
// the most frequent verb first.
func (s requestStats) String() string {
	verbs := make([]string, 0, len(s))
	for v := range s {
		verbs = append(verbs, v)
	}
	sort.Slice(verbs, func(i, j int) bool { return s[verbs[i]].n > s[verbs[j]].n })
	var parts []string
	for _, v := range verbs {
		st := s[v]
		where := "in the API server"
		if strings.HasPrefix(v, "etcd ") {
			where = "waiting on etcd"
		}
		parts = append(parts, fmt.Sprintf("%.0f %s (mean %s %s)", st.n, v, millis(time.Duration(st.sum/st.n*float64(time.Second))), where))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
