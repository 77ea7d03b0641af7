package netproxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// publicIP is the address the fake resolver gives allowed test names; the
// fake dialer sends connections for it to a local server.
const publicIP = "93.184.216.34"

// resolverFunc adapts a function to Resolver.
type resolverFunc func(ctx context.Context, host string) ([]net.IPAddr, error)

func (f resolverFunc) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	return f(ctx, host)
}

// staticResolver answers every name with ips and counts lookups.
type staticResolver struct {
	mu    sync.Mutex
	ips   []string
	calls []string
}

func (r *staticResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, host)
	var out []net.IPAddr
	for _, s := range r.ips {
		out = append(out, net.IPAddr{IP: net.ParseIP(s)})
	}
	return out, nil
}

func (r *staticResolver) lookups() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// redirectDialer records the address the proxy asks for and connects to a
// local server instead.
type redirectDialer struct {
	to     string
	mu     sync.Mutex
	dialed []string
}

func (d *redirectDialer) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.dialed = append(d.dialed, addr)
	d.mu.Unlock()
	if d.to == "" {
		return nil, errors.New("test dialer: no upstream")
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, d.to)
}

func (d *redirectDialer) addrs() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.dialed...)
}

// recorder collects Log events.
type recorder struct{ ch chan Event }

func newRecorder() *recorder { return &recorder{ch: make(chan Event, 256)} }

func (r *recorder) log(e Event) { r.ch <- e }

func (r *recorder) next(t *testing.T) Event {
	t.Helper()
	select {
	case e := <-r.ch:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no log event within 10s")
		return Event{}
	}
}

// shortDir returns a short temporary directory (unix socket paths are
// limited to 107 bytes).
func shortDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "np")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// startProxy serves cfg on a fresh unix socket and returns its path. The
// proxy is stopped at cleanup, and Serve must then return nil.
func startProxy(t testing.TB, cfg Config) (string, context.CancelFunc) {
	t.Helper()
	p := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	sock := filepath.Join(shortDir(t), "p.sock")
	l, err := p.ListenUnix(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return within 10s of cancel")
		}
	})
	return sock, cancel
}

func dialProxy(t testing.TB, sock string) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// rawRequest writes text to a new proxy connection and reads the response.
func rawRequest(t testing.TB, sock, text string) (*http.Response, net.Conn, *bufio.Reader) {
	t.Helper()
	c := dialProxy(t, sock)
	// A write error is not fatal: the proxy may answer and close before
	// reading everything (503, oversized requests).
	_, _ = io.WriteString(c, text)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: strings.Fields(text)[0]})
	if err != nil {
		t.Fatalf("read response to %q: %v", firstLine(text), err)
	}
	return resp, c, br
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\r\n")
	return l
}

func readBody(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return string(b)
}

// echoServer accepts TCP connections on loopback and echoes each until the
// peer half-closes.
func echoServer(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return l.Addr().String()
}

// proxyTransport returns a transport that reaches every proxy through the
// unix socket.
func proxyTransport(sock string, base *http.Transport) *http.Transport {
	var tr *http.Transport
	if base != nil {
		tr = base.Clone()
	} else {
		tr = &http.Transport{}
	}
	tr.Proxy = func(*http.Request) (*url.URL, error) { return url.Parse("http://proxy.invalid:3128") }
	tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}
	return tr
}
