package main

import (
	"context"
	"net"
	"slices"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// relay is a latency line on loopback: a TCP relay that forwards what it
// accepts to target, holding every chunk read in either direction for
// half a round trip before writing it on. It stands for a network between
// a client and its API server (P2's second configuration) without
// limiting throughput: chunks are delayed, not paced, so a request that
// overlaps others pays the round trip once for all of them, as over a
// real network. TLS passes through unchanged.
type relay struct {
	ln     net.Listener
	target string
	// oneWay is the delay in each direction, half the round trip.
	oneWay time.Duration
	wg     sync.WaitGroup
}

// startRelay listens on a free loopback port and relays to target with
// the round trip rtt.
func startRelay(target string, rtt time.Duration) (*relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &relay{ln: ln, target: target, oneWay: rtt / 2}
	r.wg.Add(1)
	go r.serve()
	return r, nil
}

// addr is the relay's host:port.
func (r *relay) addr() string { return r.ln.Addr().String() }

// close stops accepting; connections already relayed end with their
// peers.
func (r *relay) close() error {
	err := r.ln.Close()
	r.wg.Wait()
	return err
}

func (r *relay) serve() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		go r.handle(c.(*net.TCPConn))
	}
}

// handle relays one connection both ways and closes both ends once
// both directions ended.
func (r *relay) handle(client *net.TCPConn) {
	defer client.Close()
	c, err := net.Dial("tcp", r.target)
	if err != nil {
		return
	}
	server := c.(*net.TCPConn)
	defer server.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); delayLine(server, client, r.oneWay) }()
	go func() { defer wg.Done(); delayLine(client, server, r.oneWay) }()
	wg.Wait()
}

// chunk is what one read returned, and when it may be written on.
type chunk struct {
	data []byte
	due  time.Time
}

// delayLine copies src to dst, each chunk d after it was read, in order.
// The reader stamps and queues chunks and goes on reading; the writer
// waits for each chunk's time. When src ends, dst's write side is closed
// after the last chunk; when dst fails, src's read side is closed and
// what is queued dropped.
func delayLine(dst, src *net.TCPConn, d time.Duration) {
	// Enough room for what is in flight at loopback speeds over d;
	// a full queue holds the reader back, as a full window would.
	q := make(chan chunk, 4096)
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				q <- chunk{data: buf[:n], due: time.Now().Add(d)}
			}
			if err != nil {
				return
			}
		}
	}()
	var failed bool
	for c := range q {
		if failed {
			continue
		}
		time.Sleep(time.Until(c.due))
		if _, err := dst.Write(c.data); err != nil {
			failed = true
			src.CloseRead()
		}
	}
	if !failed {
		dst.CloseWrite()
	}
}

// relayKubeconfig writes to out a copy of kubeconfig whose clusters are
// reached through the relay at addr. The server's certificate holds for
// it too: the lab's API servers are certified for 127.0.0.1.
func relayKubeconfig(kubeconfig, addr, out string) error {
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		return err
	}
	for _, c := range cfg.Clusters {
		c.Server = "https://" + addr
	}
	return clientcmd.WriteToFile(*cfg, out)
}

// versionRoundTrip is the median time of a GET /version over one open
// connection to the server of kubeconfig (the first request, which opens
// it, left out): through the relay, the direct time plus its round trip.
func versionRoundTrip(ctx context.Context, kubeconfig string) (time.Duration, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return 0, err
	}
	cfg.QPS = -1 // no client-side rate limit
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return 0, err
	}
	var ts []time.Duration
	for i := range 21 {
		t0 := time.Now()
		if err := cs.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Error(); err != nil {
			return 0, err
		}
		if i > 0 {
			ts = append(ts, time.Since(t0))
		}
	}
	slices.Sort(ts)
	return ts[len(ts)/2], nil
}
