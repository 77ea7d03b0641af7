package model

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeServer is a real HTTP server that answers attempt i with handlers[i]
// (the last handler answers every later attempt) and records what it got.
type fakeServer struct {
	srv      *httptest.Server
	mu       sync.Mutex
	bodies   [][]byte
	headers  []http.Header
	paths    []string
	handlers []http.HandlerFunc
}

func newFake(t *testing.T, handlers ...http.HandlerFunc) *fakeServer {
	t.Helper()
	f := &fakeServer{handlers: handlers}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		n := len(f.bodies)
		f.bodies = append(f.bodies, body)
		f.headers = append(f.headers, r.Header.Clone())
		f.paths = append(f.paths, r.URL.Path)
		f.mu.Unlock()
		h := f.handlers[min(n, len(f.handlers)-1)]
		h(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeServer) attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.bodies)
}

// body decodes the JSON body of attempt i.
func (f *fakeServer) body(t *testing.T, i int) map[string]any {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var m map[string]any
	if err := json.Unmarshal(f.bodies[i], &m); err != nil {
		t.Fatalf("request body %d is not JSON: %v\n%s", i, err, f.bodies[i])
	}
	return m
}

// sseEvent is one server-sent event; an empty name writes only data.
type sseEvent struct{ name, data string }

// streamHandler writes events as text/event-stream, flushing each.
func streamHandler(events ...sseEvent) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeEvents(w, events)
	}
}

func writeEvents(w http.ResponseWriter, events []sseEvent) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	for _, e := range events {
		if e.name != "" {
			fmt.Fprintf(w, "event: %s\n", e.name)
		}
		fmt.Fprintf(w, "data: %s\n\n", e.data)
		fl.Flush()
	}
}

// dropHandler writes some events, then closes the connection without
// ending the chunked body, as a network failure would.
func dropHandler(events ...sseEvent) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeEvents(w, events)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		_ = conn.Close()
	}
}

// statusHandler answers with a status, headers and a JSON body.
func statusHandler(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// hangHandler sends events and then never finishes until the client goes
// away.
func hangHandler(events ...sseEvent) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if len(events) > 0 {
			writeEvents(w, events)
		}
		<-r.Context().Done()
	}
}

// sleeps records the waits the retrier asked for, without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

const testBaseDelay = 100 * time.Millisecond

func testOptions(env map[string]string, s *sleeps) options {
	if s == nil {
		s = &sleeps{}
	}
	return options{
		getenv:    func(k string) string { return env[k] },
		sleep:     s.sleep,
		baseDelay: testBaseDelay,
		maxDelay:  time.Second,
		log:       slog.New(slog.DiscardHandler),
	}
}

// closedURL returns the URL of a port that nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr
}

// checkOneLine fails unless err's message is a single readable line: no
// newline, no JSON dump, no Go stack.
func checkOneLine(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\r") || strings.Contains(msg, "{\"") || strings.Contains(msg, "goroutine ") || len(msg) > 400 {
		t.Errorf("error is not one clear line: %q", msg)
	}
}

func asError(t *testing.T, err error) *Error {
	t.Helper()
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %T %v is not *model.Error", err, err)
	}
	return e
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

// get walks a decoded JSON value: get(m, "messages", 2, "content", 0, "type").
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// textCollector gathers what onText received.
type textCollector struct {
	mu     sync.Mutex
	chunks []string
}

func (c *textCollector) add(s string) {
	c.mu.Lock()
	c.chunks = append(c.chunks, s)
	c.mu.Unlock()
}

func (c *textCollector) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.chunks, "")
}
