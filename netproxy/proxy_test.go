package netproxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestConnectAllowedEndToEnd(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s %s", r.Host, r.URL.Path)
	}))
	defer srv.Close()
	dialer := &redirectDialer{to: srv.Listener.Addr().String()}
	res := &staticResolver{ips: []string{publicIP}}
	rec := newRecorder()
	sock, _ := startProxy(t, Config{
		Allow:    []string{"example.com"},
		Resolver: res,
		Dial:     dialer.Dial,
		Log:      rec.log,
	})
	tr := proxyTransport(sock, srv.Client().Transport.(*http.Transport))
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := client.Get("https://example.com/tunnel")
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	if resp.StatusCode != 200 || body != "hello example.com /tunnel" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	tr.CloseIdleConnections()
	ev := rec.next(t)
	if !ev.Allowed || ev.Method != "CONNECT" || ev.Host != "example.com" || ev.Port != 443 || ev.Status != 200 {
		t.Errorf("event = %+v", ev)
	}
	if ev.Addr != publicIP+":443" || !slices.Equal(dialer.addrs(), []string{publicIP + ":443"}) {
		t.Errorf("dialed %v, event addr %q; want only %s:443", dialer.addrs(), ev.Addr, publicIP)
	}
	// A TLS handshake plus one request and response moves well over a
	// kilobyte each way.
	if ev.BytesUp < 200 || ev.BytesDown < 1000 {
		t.Errorf("bytes up %d down %d; want a TLS exchange's worth", ev.BytesUp, ev.BytesDown)
	}
	if !strings.Contains(ev.Reason, `"example.com"`) {
		t.Errorf("reason %q does not name the pattern", ev.Reason)
	}
}

func TestConnectByteCounts(t *testing.T) {
	dialer := &redirectDialer{to: echoServer(t)}
	rec := newRecorder()
	sock, _ := startProxy(t, Config{
		Allow:    []string{"echo.example:7"},
		Resolver: &staticResolver{ips: []string{publicIP}},
		Dial:     dialer.Dial,
		Log:      rec.log,
	})
	// Early data: the payload's first part travels in the same write as the
	// CONNECT header, as a client that does not wait for 200 would send it.
	payload := make([]byte, 300_000)
	if _, err := rand.Read(payload); err != nil {
		t.Fatal(err)
	}
	c := dialProxy(t, sock)
	if _, err := c.Write(append([]byte("CONNECT echo.example:7 HTTP/1.1\r\nHost: echo.example:7\r\n\r\n"), payload[:100]...)); err != nil {
		t.Fatal(err)
	}
	want := "HTTP/1.1 200 Connection established\r\n\r\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
		t.Fatalf("CONNECT response %q, %v", got, err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(payload[100:])
		if err == nil {
			err = c.(*net.UnixConn).CloseWrite()
		}
		errc <- err
	}()
	echoed, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(echoed, payload) {
		t.Fatalf("echoed %d bytes, want the %d sent", len(echoed), len(payload))
	}
	ev := rec.next(t)
	if ev.BytesUp != int64(len(payload)) || ev.BytesDown != int64(len(payload)) {
		t.Errorf("bytes up %d down %d, want %d each", ev.BytesUp, ev.BytesDown, len(payload))
	}
}

func TestPlainHTTPForwarding(t *testing.T) {
	type seen struct {
		host, uri string
		header    http.Header
		body      string
	}
	got := make(chan seen, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Host, r.RequestURI, r.Header.Clone(), string(b)}
		fmt.Fprintf(w, "echo:%s", b)
	}))
	defer srv.Close()
	dialer := &redirectDialer{to: srv.Listener.Addr().String()}
	rec := newRecorder()
	sock, _ := startProxy(t, Config{
		Allow:    []string{"example.com"},
		Resolver: &staticResolver{ips: []string{publicIP}},
		Dial:     dialer.Dial,
		Log:      rec.log,
	})

	t.Run("keep-alive and bodies", func(t *testing.T) {
		tr := proxyTransport(sock, nil)
		defer tr.CloseIdleConnections()
		var conns atomic.Int32
		base := tr.DialContext
		tr.DialContext = func(ctx context.Context, n, a string) (net.Conn, error) {
			conns.Add(1)
			return base(ctx, n, a)
		}
		client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		for i, body := range []string{"first", strings.Repeat("x", 100_000)} {
			resp, err := client.Post("http://example.com/post", "text/plain", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if b := readBody(t, resp); b != "echo:"+body {
				t.Fatalf("request %d: got %d bytes, want echo of %d", i, len(b), len(body))
			}
			if s := <-got; s.body != body {
				t.Fatalf("upstream got %d bytes, want %d", len(s.body), len(body))
			}
			rec.next(t)
		}
		if n := conns.Load(); n != 1 {
			t.Errorf("client opened %d connections to the proxy, want 1 (keep-alive)", n)
		}
	})

	t.Run("expect 100-continue", func(t *testing.T) {
		c := dialProxy(t, sock)
		fmt.Fprint(c, "PUT http://example.com/up HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
		line := make([]byte, len("HTTP/1.1 100 Continue\r\n\r\n"))
		if _, err := io.ReadFull(c, line); err != nil || string(line) != "HTTP/1.1 100 Continue\r\n\r\n" {
			t.Fatalf("interim response %q, %v", line, err)
		}
		fmt.Fprint(c, "hello")
		b, err := io.ReadAll(c)
		if err != nil || !strings.Contains(string(b), "echo:hello") {
			t.Fatalf("response %q, %v", b, err)
		}
		if s := <-got; s.body != "hello" || s.header.Get("Expect") != "" {
			t.Errorf("upstream saw body %q, Expect %q", s.body, s.header.Get("Expect"))
		}
		rec.next(t)
	})
}

func TestPlainHTTPHopByHop(t *testing.T) {
	// A raw upstream, so the response carries exactly the headers written
	// here (net/http's server rewrites Connection).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	reqs := make(chan *http.Request, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			reqs <- nil
			return
		}
		reqs <- r
		io.WriteString(c, "HTTP/1.1 200 OK\r\n"+
			"Connection: close, X-Up-Private\r\n"+
			"X-Up-Private: hidden\r\n"+
			"Proxy-Authenticate: Basic realm=upstream\r\n"+
			"Keep-Alive: timeout=5\r\n"+
			"X-Resp: ok\r\n"+
			"Content-Length: 2\r\n\r\nok")
	}()
	rec := newRecorder()
	sock, _ := startProxy(t, Config{
		Allow:    []string{"example.com"},
		Resolver: &staticResolver{ips: []string{publicIP}},
		Dial:     (&redirectDialer{to: l.Addr().String()}).Dial,
		Log:      rec.log,
	})
	resp, _, _ := rawRequest(t, sock, "GET http://Example.com/path?q=1 HTTP/1.1\r\n"+
		"Host: evil.example\r\n"+
		"Connection: keep-alive, X-Secret\r\n"+
		"X-Secret: s\r\n"+
		"Proxy-Authorization: Basic Zm9vOmJhcg==\r\n"+
		"Proxy-Connection: keep-alive\r\n"+
		"Keep-Alive: 300\r\n"+
		"Upgrade: websocket\r\n"+
		"Te: trailers\r\n"+
		"X-Keep: yes\r\n\r\n")
	body := readBody(t, resp)
	if resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	r := <-reqs
	if r == nil {
		t.Fatal("upstream could not parse the forwarded request")
	}
	if r.Host != "example.com" || r.RequestURI != "/path?q=1" {
		t.Errorf("upstream saw host %q uri %q", r.Host, r.RequestURI)
	}
	for _, h := range []string{"X-Secret", "Proxy-Authorization", "Proxy-Connection", "Keep-Alive", "Upgrade", "Te"} {
		if v := r.Header.Get(h); v != "" {
			t.Errorf("upstream received hop-by-hop header %s: %q", h, v)
		}
	}
	if r.Header.Get("X-Keep") != "yes" {
		t.Errorf("end-to-end header X-Keep lost: %v", r.Header)
	}
	if resp.Header.Get("X-Resp") != "ok" {
		t.Errorf("end-to-end response header lost: %v", resp.Header)
	}
	for _, h := range []string{"Proxy-Authenticate", "X-Up-Private", "Keep-Alive"} {
		if v := resp.Header.Get(h); v != "" {
			t.Errorf("client received hop-by-hop header %s: %q", h, v)
		}
	}
	ev := rec.next(t)
	if !ev.Allowed || ev.Method != "GET" || ev.Host != "example.com" || ev.Port != 80 || ev.Status != 200 || ev.BytesUp == 0 || ev.BytesDown == 0 {
		t.Errorf("event = %+v", ev)
	}
}

func TestRefusedHosts(t *testing.T) {
	dialer := &redirectDialer{to: echoServer(t)}
	res := &staticResolver{ips: []string{publicIP}}
	rec := newRecorder()
	sock, _ := startProxy(t, Config{
		Allow:    []string{"example.com", "*.github.com", "alt.example:8080", "metadata.google.internal", "10.0.0.1", "93.184.216.35"},
		Resolver: res,
		Dial:     dialer.Dial,
		Log:      rec.log,
	})
	tests := []struct {
		name, request string
		status        int
		reason        string
		allowed       bool
	}{
		{"other host CONNECT", "CONNECT evil.org:443 HTTP/1.1\r\n\r\n", 403, "not in the allow list", false},
		{"other host GET", "GET http://evil.org/x HTTP/1.1\r\nHost: example.com\r\n\r\n", 403, "not in the allow list", false},
		{"allowed host wrong port", "CONNECT example.com:22 HTTP/1.1\r\n\r\n", 403, "not in the allow list", false},
		{"port pattern other port", "CONNECT alt.example:443 HTTP/1.1\r\n\r\n", 403, "not in the allow list", false},
		{"wildcard base", "CONNECT github.com:443 HTTP/1.1\r\n\r\n", 403, "not in the allow list", false},
		{"suffix trick", "CONNECT evilgithub.com:443 HTTP/1.1\r\n\r\n", 403, "not in the allow list", false},
		{"allowed as prefix", "CONNECT example.com.evil.org:443 HTTP/1.1\r\n\r\n", 403, "not in the allow list", false},
		{"direct IP", "CONNECT 93.184.216.34:443 HTTP/1.1\r\n\r\n", 403, "direct IP", false},
		{"direct IPv6", "CONNECT [2606:4700::1111]:443 HTTP/1.1\r\n\r\n", 403, "direct IP", false},
		{"direct IP GET", "GET http://93.184.216.34/ HTTP/1.1\r\n\r\n", 403, "direct IP", false},
		{"mapped form of allowed IP", "CONNECT [::ffff:93.184.216.35]:443 HTTP/1.1\r\n\r\n", 403, "direct IP", false},
		{"allowed private IP", "CONNECT 10.0.0.1:443 HTTP/1.1\r\n\r\n", 403, "private", false},
		{"metadata name allowed", "CONNECT metadata.google.internal:80 HTTP/1.1\r\n\r\n", 403, "metadata", false},
		{"metadata IP", "GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\n\r\n", 403, "direct IP", false},
		{"localhost", "CONNECT localhost:443 HTTP/1.1\r\n\r\n", 403, "loopback", false},
		{"https absolute", "GET https://example.com/ HTTP/1.1\r\n\r\n", 400, "CONNECT", false},
		{"origin form", "GET /etc/passwd HTTP/1.1\r\nHost: example.com\r\n\r\n", 400, "absolute", false},
		{"ftp scheme", "GET ftp://example.com/ HTTP/1.1\r\n\r\n", 400, "scheme", false},
		{"TRACE", "TRACE http://example.com/ HTTP/1.1\r\n\r\n", 405, "TRACE", false},
		{"custom method", "PROPFIND http://example.com/ HTTP/1.1\r\n\r\n", 405, "PROPFIND", false},
		{"CONNECT URL", "CONNECT http://example.com:443/ HTTP/1.1\r\n\r\n", 400, "host:port", false},
		{"CONNECT no port", "CONNECT example.com HTTP/1.1\r\n\r\n", 400, "no port", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _, _ := rawRequest(t, sock, tt.request)
			body := readBody(t, resp)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.reason) {
				t.Errorf("got %d %q; want %d mentioning %q", resp.StatusCode, body, tt.status, tt.reason)
			}
			ev := rec.next(t)
			if ev.Allowed != tt.allowed || ev.Status != tt.status || !strings.Contains(ev.Reason, tt.reason) {
				t.Errorf("event %+v; want status %d, allowed %v, reason mentioning %q", ev, tt.status, tt.allowed, tt.reason)
			}
		})
	}
	if d := dialer.addrs(); len(d) != 0 {
		t.Errorf("refused requests dialed %v", d)
	}
	if l := res.lookups(); len(l) != 0 {
		t.Errorf("refused requests resolved %v", l)
	}
	// The refusals above did not break the proxy: allowed hosts still work.
	for _, target := range []string{"example.com:443", "api.github.com:443", "a.b.github.com:80", "alt.example:8080", "93.184.216.35:443"} {
		resp, _, _ := rawRequest(t, sock, "CONNECT "+target+" HTTP/1.1\r\n\r\n")
		if resp.StatusCode != 200 {
			t.Errorf("CONNECT %s: status %d", target, resp.StatusCode)
		}
	}
}

func TestMalformedHostsOverTheWire(t *testing.T) {
	var decides atomic.Int32
	dialer := &redirectDialer{to: echoServer(t)}
	res := &staticResolver{ips: []string{publicIP}}
	rec := newRecorder()
	sock, _ := startProxy(t, Config{
		Allow:    []string{"example.com", "127.0.0.1"},
		Decide:   func(context.Context, string, int) Decision { decides.Add(1); return Decision{Allow: true} },
		Resolver: res,
		Dial:     dialer.Dial,
		Log:      rec.log,
	})
	for _, tt := range malformedHosts {
		if tt.host == "" || strings.ContainsAny(tt.host, " \r\n") {
			continue // not expressible in a request line (covered by ValidateHost tests)
		}
		forms := []string{"CONNECT %s:443 HTTP/1.1\r\n\r\n"}
		// In an absolute URI, "/", "?" and "#" end the authority and a
		// ":" starts the port, so those hosts are valid there.
		if !strings.ContainsAny(tt.host, "/?#") && tt.host != "example.com:443" {
			forms = append(forms, "GET http://%s/ HTTP/1.1\r\n\r\n")
		}
		for _, form := range forms {
			req := fmt.Sprintf(form, tt.host)
			t.Run(tt.name+"/"+strings.Fields(form)[0], func(t *testing.T) {
				resp, _, _ := rawRequest(t, sock, req)
				body := readBody(t, resp)
				if resp.StatusCode != 400 {
					t.Errorf("%q: got %d %q, want 400", firstLine(req), resp.StatusCode, body)
				}
				ev := rec.next(t)
				if ev.Allowed || ev.Status != 400 {
					t.Errorf("event %+v, want a refusal", ev)
				}
				if strings.ContainsAny(ev.Host, "\x00\r\n\x01") {
					t.Errorf("event host %q carries raw control bytes", ev.Host)
				}
			})
		}
	}
	if n := decides.Load(); n != 0 {
		t.Errorf("Decide was asked %d times about malformed hosts", n)
	}
	if d := dialer.addrs(); len(d) != 0 {
		t.Errorf("malformed hosts dialed %v", d)
	}
	if l := res.lookups(); len(l) != 0 {
		t.Errorf("malformed hosts resolved %v", l)
	}
}

func TestDecide(t *testing.T) {
	type ask struct {
		host string
		port int
	}
	var mu sync.Mutex
	var asked []ask
	dialer := &redirectDialer{to: echoServer(t)}
	rec := newRecorder()
	sock, _ := startProxy(t, Config{
		Allow: []string{"example.com"},
		Decide: func(ctx context.Context, host string, port int) Decision {
			mu.Lock()
			asked = append(asked, ask{host, port})
			mu.Unlock()
			if host == "approved.example" {
				return Decision{Allow: true, Reason: "approved by alice"}
			}
			return Decision{Allow: false, Reason: "denied by bob"}
		},
		Resolver: &staticResolver{ips: []string{publicIP}},
		Dial:     dialer.Dial,
		Log:      rec.log,
	})
	tests := []struct {
		request string
		status  int
		reason  string
	}{
		{"CONNECT Approved.Example.:8443 HTTP/1.1\r\n\r\n", 200, "approved by alice"},
		{"GET http://denied.example/ HTTP/1.1\r\n\r\n", 403, "denied by bob"},
		{"CONNECT example.com:443 HTTP/1.1\r\n\r\n", 200, "allowed by pattern"},
		{"CONNECT 93.184.216.34:443 HTTP/1.1\r\n\r\n", 403, "direct IP"},
	}
	for _, tt := range tests {
		resp, c, _ := rawRequest(t, sock, tt.request)
		if resp.StatusCode != tt.status {
			t.Errorf("%q: status %d, want %d", firstLine(tt.request), resp.StatusCode, tt.status)
		}
		if tt.status != 200 {
			if b := readBody(t, resp); !strings.Contains(b, tt.reason) {
				t.Errorf("%q: body %q does not mention %q", firstLine(tt.request), b, tt.reason)
			}
		}
		c.Close()
		if ev := rec.next(t); !strings.Contains(ev.Reason, tt.reason) || ev.Allowed != (tt.status == 200) {
			t.Errorf("%q: event %+v, want reason mentioning %q", firstLine(tt.request), ev, tt.reason)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := []ask{{"approved.example", 8443}, {"denied.example", 80}}
	if !slices.Equal(asked, want) {
		t.Errorf("Decide asked %v, want %v (allowed hosts and IP literals are not asked)", asked, want)
	}
}

func TestResolvedAddressChecks(t *testing.T) {
	tests := []struct {
		name   string
		ips    []string
		reason string
	}{
		{"loopback", []string{"127.0.0.1"}, "loopback"},
		{"loopback v6", []string{"::1"}, "loopback"},
		{"private", []string{"10.1.2.3"}, "private"},
		{"private 172", []string{"172.20.0.5"}, "private"},
		{"metadata", []string{"169.254.169.254"}, "metadata"},
		{"metadata v6", []string{"fd00:ec2::254"}, "metadata"},
		{"alibaba metadata", []string{"100.100.100.200"}, "metadata"},
		{"mapped loopback", []string{"::ffff:127.0.0.1"}, "loopback"},
		{"mapped private", []string{"::ffff:192.168.0.1"}, "private"},
		{"NAT64 loopback", []string{"64:ff9b::7f00:1"}, "NAT64"},
		{"CGNAT", []string{"100.64.1.1"}, "carrier-grade"},
		{"link-local v6", []string{"fe80::1"}, "link-local"},
		{"unspecified", []string{"0.0.0.0"}, "unspecified"},
		{"public then private", []string{publicIP, "10.0.0.1"}, "private"},
		{"private then public", []string{"192.168.1.1", publicIP}, "private"},
		{"no addresses", nil, "no addresses"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dialer := &redirectDialer{to: echoServer(t)}
			rec := newRecorder()
			sock, _ := startProxy(t, Config{
				Allow:    []string{"allowed.example"},
				Resolver: &staticResolver{ips: tt.ips},
				Dial:     dialer.Dial,
				Log:      rec.log,
			})
			for _, req := range []string{"CONNECT allowed.example:443 HTTP/1.1\r\n\r\n", "GET http://allowed.example/ HTTP/1.1\r\n\r\n"} {
				resp, _, _ := rawRequest(t, sock, req)
				body := readBody(t, resp)
				if resp.StatusCode < 400 || !strings.Contains(body, tt.reason) {
					t.Errorf("%q: got %d %q, want a refusal mentioning %q", firstLine(req), resp.StatusCode, body, tt.reason)
				}
				rec.next(t)
			}
			if d := dialer.addrs(); len(d) != 0 {
				t.Errorf("dialed %v", d)
			}
		})
	}
}

func TestDNSRebinding(t *testing.T) {
	// The first lookup answers a public address, every later one a private
	// address: a checker that resolves again before dialing would connect to
	// 10.0.0.1.
	var lookups atomic.Int32
	res := resolverFunc(func(_ context.Context, host string) ([]net.IPAddr, error) {
		if lookups.Add(1) == 1 {
			return []net.IPAddr{{IP: net.ParseIP(publicIP)}}, nil
		}
		return []net.IPAddr{{IP: net.ParseIP("10.0.0.1")}}, nil
	})
	dialer := &redirectDialer{to: echoServer(t)}
	rec := newRecorder()
	sock, _ := startProxy(t, Config{Allow: []string{"rebind.example"}, Resolver: res, Dial: dialer.Dial, Log: rec.log})

	resp, c, _ := rawRequest(t, sock, "CONNECT rebind.example:443 HTTP/1.1\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Fatalf("first CONNECT: %d", resp.StatusCode)
	}
	c.Close()
	if ev := rec.next(t); ev.Addr != publicIP+":443" {
		t.Errorf("event addr %q", ev.Addr)
	}
	if n := lookups.Load(); n != 1 {
		t.Errorf("proxy resolved %d times for one request, want 1", n)
	}
	if d := dialer.addrs(); !slices.Equal(d, []string{publicIP + ":443"}) {
		t.Errorf("dialed %v, want exactly the checked %s:443", d, publicIP)
	}
	// The next request sees the rebound (private) answer and is refused.
	resp, _, _ = rawRequest(t, sock, "CONNECT rebind.example:443 HTTP/1.1\r\n\r\n")
	if resp.StatusCode != 403 {
		t.Errorf("rebound CONNECT: %d, want 403", resp.StatusCode)
	}
	if d := dialer.addrs(); len(d) != 1 {
		t.Errorf("dialed %v after rebinding", d)
	}
}

func TestAllowPrivateLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "local")
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, allowPrivate := range []bool{true, false} {
		t.Run(fmt.Sprint("AllowPrivate=", allowPrivate), func(t *testing.T) {
			// Real resolver and real dialer.
			sock, _ := startProxy(t, Config{
				Allow:        []string{"localhost:" + port, "127.0.0.1:" + port, "10.0.0.1:" + port},
				AllowPrivate: allowPrivate,
			})
			client := &http.Client{Transport: proxyTransport(sock, nil), Timeout: 10 * time.Second}
			for _, host := range []string{"localhost", "127.0.0.1"} {
				resp, err := client.Get("http://" + host + ":" + port + "/")
				if err != nil {
					t.Fatal(err)
				}
				body := readBody(t, resp)
				if allowPrivate && (resp.StatusCode != 200 || body != "local") {
					t.Errorf("%s: got %d %q, want the local server", host, resp.StatusCode, body)
				}
				if !allowPrivate && (resp.StatusCode != 403 || !strings.Contains(body, "loopback")) {
					t.Errorf("%s: got %d %q, want 403 loopback", host, resp.StatusCode, body)
				}
			}
			// AllowPrivate admits loopback only.
			resp, _, _ := rawRequest(t, sock, "CONNECT 10.0.0.1:"+port+" HTTP/1.1\r\n\r\n")
			if resp.StatusCode != 403 {
				t.Errorf("CONNECT to 10.0.0.1: %d, want 403", resp.StatusCode)
			}
		})
	}
}

func TestListenUnixPermissions(t *testing.T) {
	dir := shortDir(t)
	p := New(Config{})
	ctx := context.Background()
	path := filepath.Join(dir, "proxy.sock")
	l, err := p.ListenUnix(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a socket with 0600", fi.Mode())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the socket", len(entries))
	}
	// It accepts connections at its final path.
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("dial socket: %v", err)
	}
	c.Close()
	// A second listener replaces a stale socket.
	l.Close()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("socket still exists after Close: %v", err)
	}
	l2, err := p.ListenUnix(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	l3, err := p.ListenUnix(ctx, path)
	if err != nil {
		t.Fatalf("replace existing socket: %v", err)
	}
	l3.Close()
	l2.Close()
	// Anything other than a socket is left alone.
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ListenUnix(ctx, file); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("ListenUnix over a file: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep" {
		t.Errorf("file clobbered: %q", b)
	}
	if _, err := p.ListenUnix(ctx, "/"+strings.Repeat("x", 120)); err == nil || !strings.Contains(err.Error(), "shorter") {
		t.Errorf("ListenUnix with a long path: %v", err)
	}
}

func TestConnectionCap(t *testing.T) {
	dialer := &redirectDialer{to: echoServer(t)}
	rec := newRecorder()
	sock, _ := startProxy(t, Config{
		Allow:    []string{"echo.example"},
		Resolver: &staticResolver{ips: []string{publicIP}},
		Dial:     dialer.Dial,
		Log:      rec.log,
		MaxConns: 1,
	})
	resp, first, _ := rawRequest(t, sock, "CONNECT echo.example:443 HTTP/1.1\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Fatalf("first CONNECT: %d", resp.StatusCode)
	}
	resp, _, _ = rawRequest(t, sock, "CONNECT echo.example:443 HTTP/1.1\r\n\r\n")
	if body := readBody(t, resp); resp.StatusCode != 503 || !strings.Contains(body, "too many connections") {
		t.Errorf("second CONNECT: %d %q, want 503", resp.StatusCode, body)
	}
	if ev := rec.next(t); ev.Status != 503 {
		t.Errorf("event %+v, want the 503", ev)
	}
	first.Close()
	rec.next(t) // the first tunnel's event
	// The slot is released just after the event; poll until it is.
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, c, _ := rawRequest(t, sock, "CONNECT echo.example:443 HTTP/1.1\r\n\r\n")
		c.Close()
		if resp.StatusCode == 200 {
			break
		}
		if resp.StatusCode != 503 || time.Now().After(deadline) {
			t.Fatalf("CONNECT after the first closed: %d, want 200", resp.StatusCode)
		}
		rec.next(t)
	}
}

func TestIdleTimeout(t *testing.T) {
	// The upstream only reads, so during the first phase bytes move one way
	// only; the tunnel must still count as active.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	received := make(chan int64, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		n, _ := io.Copy(io.Discard, c)
		c.Close()
		received <- n
	}()
	rec := newRecorder()
	const idle = 300 * time.Millisecond
	sock, _ := startProxy(t, Config{
		Allow:       []string{"sink.example"},
		Resolver:    &staticResolver{ips: []string{publicIP}},
		Dial:        (&redirectDialer{to: l.Addr().String()}).Dial,
		Log:         rec.log,
		IdleTimeout: idle,
	})
	resp, c, br := rawRequest(t, sock, "CONNECT sink.example:443 HTTP/1.1\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %d", resp.StatusCode)
	}
	var sent int64
	chunk := make([]byte, 1024)
	for start := time.Now(); time.Since(start) < 3*idle; {
		n, err := c.Write(chunk)
		sent += int64(n)
		if err != nil {
			t.Fatalf("tunnel closed while sending after %v: %v", time.Since(start), err)
		}
	}
	// Silence closes it: the read ends with EOF, not with our deadline.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := br.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("idle tunnel read = %d, %v; want EOF", n, err)
	}
	if got := <-received; got != sent {
		t.Errorf("upstream received %d bytes, client sent %d", got, sent)
	}
	if ev := rec.next(t); !strings.Contains(ev.Reason, "idle") || ev.BytesUp != sent {
		t.Errorf("event %+v; want reason mentioning idle and %d bytes up", ev, sent)
	}
}

func TestShutdownClosesTunnels(t *testing.T) {
	dialer := &redirectDialer{to: echoServer(t)}
	block := make(chan struct{})
	decided := make(chan struct{})
	sock, cancel := startProxy(t, Config{
		Allow:    []string{"echo.example"},
		Resolver: &staticResolver{ips: []string{publicIP}},
		Dial:     dialer.Dial,
		Decide: func(ctx context.Context, host string, port int) Decision {
			close(decided)
			select {
			case <-ctx.Done():
				return Decision{Reason: "shutting down"}
			case <-block:
				return Decision{Allow: true}
			}
		},
	})
	resp, _, br := rawRequest(t, sock, "CONNECT echo.example:443 HTTP/1.1\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %d", resp.StatusCode)
	}
	waiting := dialProxy(t, sock)
	fmt.Fprint(waiting, "CONNECT pending.example:443 HTTP/1.1\r\n\r\n")
	<-decided
	cancel()
	if _, err := br.ReadByte(); err == nil {
		t.Error("tunnel still delivers data after shutdown")
	}
	b, _ := io.ReadAll(waiting)
	if !strings.Contains(string(b), "403") && len(b) != 0 {
		t.Errorf("pending request got %q after shutdown", b)
	}
}

func TestInvalidConfig(t *testing.T) {
	p := New(Config{Allow: []string{"ok.example", "*", "bad host"}})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = p.Serve(context.Background(), l)
	if err == nil || !strings.Contains(err.Error(), `"*"`) || !strings.Contains(err.Error(), `"bad host"`) {
		t.Errorf("Serve = %v; want an error naming both bad patterns", err)
	}
}

func TestOversizedHeader(t *testing.T) {
	sock, _ := startProxy(t, Config{})
	c := dialProxy(t, sock)
	go func() {
		_, _ = io.WriteString(c, "GET http://example.com/ HTTP/1.1\r\nX-Big: "+strings.Repeat("a", 2<<20)+"\r\n\r\n")
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 400 {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
}
