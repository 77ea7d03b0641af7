package netproxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
)

// roundTrip sends one byte and reads its echo.
func roundTrip(b *testing.B, c io.ReadWriter) {
	var buf [1]byte
	if _, err := c.Write([]byte{'x'}); err != nil {
		b.Fatal(err)
	}
	if _, err := io.ReadFull(c, buf[:]); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDirectDial is the baseline: dial the echo server, one byte
// round trip, close.
func BenchmarkDirectDial(b *testing.B) {
	addr := echoServer(b)
	for b.Loop() {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		roundTrip(b, c)
		c.Close()
	}
}

// BenchmarkConnect does the same through the proxy: dial its unix socket,
// CONNECT to an allowed name (checked, resolved, dialed), one byte round
// trip, close.
func BenchmarkConnect(b *testing.B) {
	dialer := &redirectDialer{to: echoServer(b)}
	sock, _ := startProxy(b, Config{
		Allow:    []string{"echo.example"},
		Resolver: &staticResolver{ips: []string{publicIP}},
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, dialer.to)
		},
	})
	req := []byte("CONNECT echo.example:443 HTTP/1.1\r\nHost: echo.example:443\r\n\r\n")
	for b.Loop() {
		c, err := net.Dial("unix", sock)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("CONNECT: %v %v", resp, err)
		}
		roundTrip(b, struct {
			io.Reader
			io.Writer
		}{br, c})
		c.Close()
	}
}
