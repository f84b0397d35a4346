package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// applyTrace is where an apply's time went, from its -json event stream:
// the plan (observing every VM and cluster) until the first change starts,
// then each instance from apply_start to apply_complete.
type applyTrace struct {
	plan  time.Duration
	apply time.Duration // first start to last completion
	kinds map[string]*kindTime
}

// kindTime sums the instances of one resource type.
type kindTime struct {
	n     int
	total time.Duration
	max   time.Duration
}

func parseApplyTrace(out []byte, started time.Time) (applyTrace, error) {
	tr := applyTrace{kinds: map[string]*kindTime{}}
	starts := map[string]time.Time{}
	var first, last time.Time
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		var ev struct {
			Type string `json:"type"`
			TS   string `json:"@timestamp"`
			Hook struct {
				Resource struct {
					Addr string `json:"addr"`
					Type string `json:"resource_type"`
				} `json:"resource"`
			} `json:"hook"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.TS == "" {
			continue
		}
		ts, err := time.Parse(time.RFC3339Nano, ev.TS)
		if err != nil {
			return tr, fmt.Errorf("event time %q: %w", ev.TS, err)
		}
		r := ev.Hook.Resource
		switch ev.Type {
		case "apply_start":
			if first.IsZero() {
				first = ts
			}
			starts[r.Addr] = ts
		case "apply_complete", "apply_errored":
			t0, ok := starts[r.Addr]
			if !ok {
				continue
			}
			d := ts.Sub(t0)
			k := tr.kinds[r.Type]
			if k == nil {
				k = &kindTime{}
				tr.kinds[r.Type] = k
			}
			k.n++
			k.total += d
			k.max = max(k.max, d)
			last = ts
		}
	}
	if first.IsZero() {
		return tr, fmt.Errorf("no apply_start event in the output")
	}
	tr.plan = first.Sub(started)
	tr.apply = last.Sub(first)
	return tr, sc.Err()
}

// summary names the resource types that took most of the change time.
func (tr applyTrace) summary() string {
	type kt struct {
		name string
		*kindTime
	}
	var ks []kt
	var all time.Duration
	for n, k := range tr.kinds {
		ks = append(ks, kt{n, k})
		all += k.total
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].total > ks[j].total })
	var parts []string
	for i, k := range ks {
		if i == 4 {
			break
		}
		share := 0.0
		if all > 0 {
			share = 100 * float64(k.total) / float64(all)
		}
		parts = append(parts, fmt.Sprintf("%s %.0f%% (%d, %s each on average, longest %s)",
			k.name, share, k.n, secs(k.total/time.Duration(k.n)), secs(k.max)))
	}
	return fmt.Sprintf("plan (observe) %s, changes %s; change time by type: %s",
		secs(tr.plan), secs(tr.apply), strings.Join(parts, "; "))
}
