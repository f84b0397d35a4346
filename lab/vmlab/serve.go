package vmlab

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"
)

// DebPort is the port the lab serves its packages on, at the bridge address.
const DebPort = 8081

// ServeDebs serves the files in dir over HTTP on addr until the process
// ends, logging each request to stderr. Up runs it in a background process
// of its own (the lab executable run as "meshx-vmlab serve-http").
func ServeDebs(dir, addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("vmlab: serve %s: %w", dir, err)
	}
	logger := log.New(os.Stderr, "", log.LstdFlags)
	files := http.FileServer(http.Dir(dir))
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			logger.Printf("%s %s %s", r.RemoteAddr, r.Method, r.URL.Path)
			files.ServeHTTP(w, r)
		}),
	}
	return srv.Serve(l)
}
