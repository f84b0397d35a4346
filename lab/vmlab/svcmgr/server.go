package svcmgr

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path"
	"time"

	"github.com/meshx-dev/meshx/lab/vmlab/systemctl"
	"golang.org/x/sys/unix"
)

// Listen opens the manager's unix socket; anyone may connect, and the
// manager checks the caller's uid per command.
func (m *Manager) Listen() (net.Listener, error) {
	sock := m.fs.p(m.SocketPath())
	if err := os.MkdirAll(path.Dir(sock), 0o755); err != nil {
		return nil, fmt.Errorf("svcmgr: %w", err)
	}
	_ = os.Remove(sock)
	l, err := net.Listen("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("svcmgr: %w", err)
	}
	if err := os.Chmod(sock, 0o666); err != nil {
		l.Close()
		return nil, fmt.Errorf("svcmgr: %w", err)
	}
	return l, nil
}

// Serve answers systemctl requests on l until ctx is done.
func (m *Manager) Serve(ctx context.Context, l net.Listener) error {
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return fmt.Errorf("svcmgr: accept: %w", err)
		}
		go m.serveConn(c)
	}
}

func (m *Manager) serveConn(c net.Conn) {
	defer c.Close()
	uid := -1
	if uc, ok := c.(*net.UnixConn); ok {
		if raw, err := uc.SyscallConn(); err == nil {
			raw.Control(func(fd uintptr) {
				if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
					uid = int(cred.Uid)
				}
			})
		}
	}
	var req systemctl.Request
	if err := json.NewDecoder(c).Decode(&req); err != nil {
		return
	}
	_ = json.NewEncoder(c).Encode(m.CommandAs(uid, req.Args))
}
