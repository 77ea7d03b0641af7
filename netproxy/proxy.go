// Package netproxy provides the egress HTTP proxy that is the only way out
// of the sandbox: it admits allowed hosts, checks every resolved address, and
// logs each request.
package netproxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Defaults for the Config limits.
const (
	DefaultMaxConns    = 128
	DefaultIdleTimeout = 5 * time.Minute

	headerTimeout  = 30 * time.Second
	resolveTimeout = 10 * time.Second
	dialTimeout    = 10 * time.Second
	maxDialAddrs   = 3
	maxHeaderBytes = 1 << 20
)

// Decision is the answer of a Config.Decide callback.
type Decision struct {
	Allow  bool
	Reason string
}

// Resolver looks up the addresses of a host name; *net.Resolver satisfies it.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Config configures a Proxy.
type Config struct {
	// Allow lists host patterns: "proxy.golang.org" (exact), "*.github.com"
	// (subdomains only, not github.com itself), an exact IP address.
	// Matching is case-insensitive on the normalised name. A pattern without
	// a port admits ports 80 and 443; "host:port" admits only that port.
	Allow []string
	// Decide is asked about hosts that no Allow pattern admits (IP literals
	// excepted: those are refused unless a pattern names them). Nil refuses.
	// It may block, for instance on a human approval; it is called once per
	// request and must be safe for concurrent use.
	Decide func(ctx context.Context, host string, port int) Decision
	// Resolver resolves names; nil means net.DefaultResolver.
	Resolver Resolver
	// Dial connects to the checked address ("ip:port"); nil means a
	// net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Log receives one Event per request, after it ends. It must be safe for
	// concurrent use.
	Log func(Event)
	// Logger receives operational messages (accept errors, panics); nil
	// discards them.
	Logger *slog.Logger
	// MaxConns caps concurrent client connections; 0 means DefaultMaxConns.
	// Connections over the cap get 503.
	MaxConns int
	// IdleTimeout closes a connection or tunnel when no byte has moved in
	// either direction for this long; 0 means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// AllowPrivate admits loopback upstreams. For tests only; metadata
	// endpoints and every other special range stay refused.
	AllowPrivate bool
}

// Event records one proxied request.
type Event struct {
	Time      time.Time
	Host      string // normalised host, or the raw (escaped) host if it was malformed
	Port      int
	Method    string
	Allowed   bool
	Reason    string
	Status    int    // HTTP status sent to the client (200 for an opened tunnel)
	Addr      string // "ip:port" dialed, if any
	BytesUp   int64  // bytes sent upstream
	BytesDown int64  // bytes received from upstream
}

// Proxy is the egress proxy. Create it with New.
type Proxy struct {
	allow    []pattern
	err      error
	decide   func(ctx context.Context, host string, port int) Decision
	resolver Resolver
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	logEvent func(Event)
	logger   *slog.Logger
	sem      chan struct{}
	idle     time.Duration
	loopback bool
	bufs     sync.Pool // *[]byte tunnel buffers
}

// New returns a proxy for cfg. An invalid Allow pattern makes Serve fail
// with an error naming it; check patterns early with ValidatePattern.
func New(cfg Config) *Proxy {
	p := &Proxy{
		decide:   cfg.Decide,
		resolver: cfg.Resolver,
		dial:     cfg.Dial,
		logEvent: cfg.Log,
		logger:   cfg.Logger,
		idle:     cfg.IdleTimeout,
		loopback: cfg.AllowPrivate,
	}
	var errs []error
	for _, s := range cfg.Allow {
		pat, err := parsePattern(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.allow = append(p.allow, pat)
	}
	if len(errs) > 0 {
		p.err = fmt.Errorf("netproxy config: %w", errors.Join(errs...))
	}
	if p.resolver == nil {
		p.resolver = net.DefaultResolver
	}
	if p.dial == nil {
		d := &net.Dialer{}
		p.dial = d.DialContext
	}
	if p.logEvent == nil {
		p.logEvent = func(Event) {}
	}
	if p.logger == nil {
		p.logger = slog.New(slog.DiscardHandler)
	}
	if p.idle <= 0 {
		p.idle = DefaultIdleTimeout
	}
	n := cfg.MaxConns
	if n <= 0 {
		n = DefaultMaxConns
	}
	p.sem = make(chan struct{}, n)
	p.bufs.New = func() any {
		b := make([]byte, 32<<10)
		return &b
	}
	return p
}

// Serve accepts connections on l until ctx is done, then closes l and every
// open connection and tunnel, waits for the handlers and returns nil. It
// returns an error if the configuration is invalid or Accept fails.
func (p *Proxy) Serve(ctx context.Context, l net.Listener) error {
	defer l.Close()
	if p.err != nil {
		return p.err
	}
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	backoff := 5 * time.Millisecond
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				p.logger.Warn("netproxy accept", "addr", l.Addr().String(), "err", err)
				select {
				case <-time.After(backoff):
				case <-ctx.Done():
					return nil
				}
				backoff = min(2*backoff, time.Second)
				continue
			}
			return fmt.Errorf("netproxy accept on %s: %w", l.Addr(), err)
		}
		backoff = 5 * time.Millisecond
		select {
		case p.sem <- struct{}{}:
		default:
			wg.Go(func() { p.refuseBusy(c) })
			continue
		}
		wg.Go(func() {
			defer func() { <-p.sem }()
			p.handle(ctx, c)
		})
	}
}

func (p *Proxy) refuseBusy(c net.Conn) {
	defer c.Close()
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	writeError(c, http.StatusServiceUnavailable, fmt.Sprintf("too many connections (limit %d); retry later", cap(p.sem)))
	p.logEvent(Event{Time: time.Now(), Allowed: false, Reason: "too many connections", Status: http.StatusServiceUnavailable})
}

// session tracks the connections of one client so that they can all be
// closed when the proxy stops.
type session struct {
	mu     sync.Mutex
	conns  []net.Conn
	closed bool
}

func (s *session) add(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return false
	}
	s.conns = append(s.conns, c)
	return true
}

func (s *session) remove(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns = slices.DeleteFunc(s.conns, func(x net.Conn) bool { return x == c })
}

func (s *session) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

// limitedReader fails once more than n bytes were read while n >= 0; it
// bounds request headers.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(b []byte) (int, error) {
	if l.n < 0 {
		return l.r.Read(b)
	}
	if l.n == 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(b)) > l.n {
		b = b[:l.n]
	}
	n, err := l.r.Read(b)
	l.n -= int64(n)
	return n, err
}

var errHeaderTooLarge = errors.New("request header too large")

func (p *Proxy) handle(ctx context.Context, c net.Conn) {
	s := &session{}
	if !s.add(c) {
		return
	}
	stop := context.AfterFunc(ctx, s.closeAll)
	defer stop()
	defer s.closeAll()
	defer func() {
		if r := recover(); r != nil {
			p.logger.Error("netproxy handler panic", "panic", fmt.Sprint(r))
		}
	}()
	lr := &limitedReader{r: c}
	br := bufio.NewReader(lr)
	first := true
	for {
		lr.n = maxHeaderBytes
		wait := headerTimeout
		if !first {
			wait = min(p.idle, headerTimeout)
		}
		_ = c.SetReadDeadline(time.Now().Add(wait))
		req, err := http.ReadRequest(br)
		if err != nil {
			var ne net.Error
			switch {
			case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
			case errors.As(err, &ne) && ne.Timeout():
				if first {
					writeError(c, http.StatusRequestTimeout, "timed out reading the request")
				}
			default:
				writeError(c, http.StatusBadRequest, "malformed request: "+err.Error())
				p.logEvent(Event{Time: time.Now(), Reason: "malformed request: " + err.Error(), Status: http.StatusBadRequest})
			}
			return
		}
		first = false
		lr.n = -1
		_ = c.SetReadDeadline(time.Time{})
		if req.Method == http.MethodConnect {
			p.connect(ctx, s, c, br, req)
			return
		}
		if !p.forward(ctx, s, c, br, req) {
			return
		}
	}
}

// refusal is a request the proxy answers itself.
type refusal struct {
	status  int
	reason  string
	allowed bool // policy allowed it; it failed later
}

func (r *refusal) Error() string { return r.reason }

func refuse(status int, format string, args ...any) *refusal {
	return &refusal{status: status, reason: fmt.Sprintf(format, args...)}
}

// authorize applies the allow list, the Decide callback and the address
// checks, and returns the addresses the proxy may dial.
func (p *Proxy) authorize(ctx context.Context, host string, port int) (string, []netip.Addr, *refusal) {
	if r := forbiddenName(host, p.loopback); r != "" {
		return "", nil, refuse(http.StatusForbidden, "host %s refused: %s", host, r)
	}
	lit, err := netip.ParseAddr(host)
	isIP := err == nil
	reason := ""
	for _, pat := range p.allow {
		if pat.match(host, port, isIP) {
			reason = fmt.Sprintf("allowed by pattern %q", pat.raw)
			break
		}
	}
	if reason == "" {
		switch {
		case isIP:
			return "", nil, refuse(http.StatusForbidden, "direct IP address %s refused; use the host name, or add the exact IP to the allow list", host)
		case p.decide == nil:
			return "", nil, refuse(http.StatusForbidden, "%s not in the allow list (a pattern without a port admits 80 and 443); ask for it to be added to the network policy", net.JoinHostPort(host, strconv.Itoa(port)))
		}
		d := p.decide(ctx, host, port)
		if !d.Allow {
			why := d.Reason
			if why == "" {
				why = "not approved"
			}
			return "", nil, refuse(http.StatusForbidden, "%s refused: %s", net.JoinHostPort(host, strconv.Itoa(port)), why)
		}
		reason = "allowed by decision"
		if d.Reason != "" {
			reason += ": " + d.Reason
		}
	}
	var addrs []netip.Addr
	if isIP {
		addrs = []netip.Addr{lit.Unmap()}
	} else {
		rctx, cancel := context.WithTimeout(ctx, resolveTimeout)
		ips, err := p.resolver.LookupIPAddr(rctx, host)
		cancel()
		if err != nil {
			return reason, nil, &refusal{status: http.StatusBadGateway, reason: fmt.Sprintf("%s; resolve %s: %v", reason, host, err), allowed: true}
		}
		seen := map[netip.Addr]bool{}
		for _, ip := range ips {
			a, ok := netip.AddrFromSlice(ip.IP)
			if !ok {
				return "", nil, refuse(http.StatusForbidden, "host %s resolves to an invalid address", host)
			}
			if ip.Zone != "" {
				a = a.WithZone(ip.Zone)
			}
			a = a.Unmap()
			if !seen[a] {
				seen[a] = true
				addrs = append(addrs, a)
			}
		}
		if len(addrs) == 0 {
			return reason, nil, &refusal{status: http.StatusBadGateway, reason: fmt.Sprintf("%s; host %s has no addresses", reason, host), allowed: true}
		}
	}
	for _, a := range addrs {
		if r := forbiddenAddr(a, p.loopback); r != "" {
			return "", nil, refuse(http.StatusForbidden, "host %s resolves to %s address %s; refused", host, r, a)
		}
	}
	return reason, addrs, nil
}

// dialChecked connects to the first reachable of the checked addresses. It
// never resolves a name again.
func (p *Proxy) dialChecked(ctx context.Context, addrs []netip.Addr, port int) (net.Conn, string, error) {
	var errs []error
	for i, a := range addrs {
		if i == maxDialAddrs {
			break
		}
		addr := netip.AddrPortFrom(a, uint16(port)).String()
		dctx, cancel := context.WithTimeout(ctx, dialTimeout)
		c, err := p.dial(dctx, "tcp", addr)
		cancel()
		if err == nil {
			return c, addr, nil
		}
		errs = append(errs, fmt.Errorf("dial %s: %w", addr, err))
	}
	return nil, "", errors.Join(errs...)
}

// open authorizes host:port and dials it, recording the outcome in ev.
func (p *Proxy) open(ctx context.Context, s *session, host string, port int, ev *Event) (*countConn, *refusal) {
	reason, addrs, ref := p.authorize(ctx, host, port)
	if ref != nil {
		return nil, ref
	}
	ev.Allowed = true
	ev.Reason = reason
	up, addr, err := p.dialChecked(ctx, addrs, port)
	if err != nil {
		return nil, &refusal{status: http.StatusBadGateway, reason: fmt.Sprintf("%s; %v", reason, err), allowed: true}
	}
	ev.Addr = addr
	cc := &countConn{Conn: up}
	if !s.add(cc) {
		return nil, &refusal{status: http.StatusServiceUnavailable, reason: reason + "; proxy shutting down", allowed: true}
	}
	return cc, nil
}

func (p *Proxy) connect(ctx context.Context, s *session, c net.Conn, br *bufio.Reader, req *http.Request) {
	ev := Event{Time: time.Now(), Method: req.Method}
	defer func() { p.logEvent(ev) }()
	fail := func(r *refusal) {
		ev.Allowed, ev.Reason, ev.Status = r.allowed, r.reason, r.status
		writeError(c, r.status, r.reason)
	}
	auth := req.RequestURI
	if strings.Contains(auth, "/") {
		ev.Host = escapeHost(auth)
		fail(refuse(http.StatusBadRequest, "CONNECT target %q must be host:port", auth))
		return
	}
	host, port, err := splitAuthority(auth, 0)
	if err != nil {
		ev.Host = escapeHost(auth)
		fail(refuse(http.StatusBadRequest, "%v", err))
		return
	}
	ev.Host, ev.Port = host, port
	up, ref := p.open(ctx, s, host, port, &ev)
	if ref != nil {
		fail(ref)
		return
	}
	_ = c.SetWriteDeadline(time.Now().Add(p.idle))
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		ev.Reason += "; write to client: " + err.Error()
		return
	}
	ev.Status = http.StatusOK
	// Bytes the client sent after the CONNECT header (an early TLS hello)
	// are already buffered; send them first.
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		_ = up.SetWriteDeadline(time.Now().Add(p.idle))
		_, err := up.Write(b)
		_, _ = br.Discard(n)
		if err != nil {
			ev.Reason += "; send buffered bytes upstream: " + err.Error()
			ev.BytesUp, ev.BytesDown = up.counts()
			return
		}
	}
	if err := p.tunnel(c, up); err != nil {
		ev.Reason += "; tunnel ended: " + err.Error()
	}
	ev.BytesUp, ev.BytesDown = up.counts()
}

// allowedMethods are the methods forwarded as plain HTTP.
var allowedMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true,
	http.MethodPut: true, http.MethodPatch: true, http.MethodDelete: true,
	http.MethodOptions: true,
}

// hopHeaders are the hop-by-hop headers a proxy must not forward.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

func removeHopHeaders(h http.Header) {
	for _, v := range h.Values("Connection") {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
}

// forward proxies one absolute-URI HTTP request and reports whether the
// client connection may carry another.
func (p *Proxy) forward(ctx context.Context, s *session, c net.Conn, br *bufio.Reader, req *http.Request) bool {
	ev := Event{Time: time.Now(), Method: req.Method}
	defer func() { p.logEvent(ev) }()
	fail := func(r *refusal) bool {
		ev.Allowed, ev.Reason, ev.Status = r.allowed, r.reason, r.status
		writeError(c, r.status, r.reason)
		return false
	}
	raw := req.RequestURI
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || strings.ContainsAny(scheme, "/?#") {
		return fail(refuse(http.StatusBadRequest, "request target %q is not an absolute http:// URI; this is a proxy (send CONNECT for https)", truncate(raw)))
	}
	switch strings.ToLower(scheme) {
	case "http":
	case "https":
		return fail(refuse(http.StatusBadRequest, "send https:// requests through a CONNECT tunnel"))
	default:
		return fail(refuse(http.StatusBadRequest, "scheme %q is not supported; only http:// and CONNECT", scheme))
	}
	auth := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		auth = rest[:i]
	}
	host, port, err := splitAuthority(auth, 80)
	if err != nil {
		ev.Host = escapeHost(auth)
		return fail(refuse(http.StatusBadRequest, "%v", err))
	}
	ev.Host, ev.Port = host, port
	if !allowedMethods[req.Method] {
		return fail(&refusal{status: http.StatusMethodNotAllowed, reason: fmt.Sprintf("method %q is not forwarded; use GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS or CONNECT", truncate(req.Method))})
	}
	up, ref := p.open(ctx, s, host, port, &ev)
	if ref != nil {
		return fail(ref)
	}
	defer func() {
		up.Close()
		s.remove(up)
		ev.BytesUp, ev.BytesDown = up.counts()
	}()

	expect := strings.EqualFold(req.Header.Get("Expect"), "100-continue")
	removeHopHeaders(req.Header)
	req.Header.Del("Expect")
	hostHeader := host
	if strings.Contains(host, ":") {
		hostHeader = "[" + host + "]"
	}
	if port != 80 {
		hostHeader += ":" + strconv.Itoa(port)
	}
	out := req.WithContext(ctx)
	out.Host = hostHeader
	out.URL.Host = hostHeader
	out.URL.Scheme = "http"
	out.URL.User = nil
	out.RequestURI = ""
	out.Close = true
	if expect && req.Body != http.NoBody {
		_ = c.SetWriteDeadline(time.Now().Add(p.idle))
		if _, err := io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n"); err != nil {
			ev.Reason += "; write to client: " + err.Error()
			return false
		}
	}
	idle := &idleConn{Conn: up, idle: p.idle}
	cidle := &idleConn{Conn: c, idle: p.idle}
	if req.Body != nil && req.Body != http.NoBody {
		out.Body = readerBody{r: req.Body, c: cidle}
	}
	if err := out.Write(idle); err != nil {
		return fail(&refusal{status: http.StatusBadGateway, reason: ev.Reason + "; send request upstream: " + err.Error(), allowed: true})
	}
	tap := &headerTap{r: idle}
	ubr := bufio.NewReader(tap)
	var resp *http.Response
	var connTokens []string
	for {
		b, _ := ubr.Peek(ubr.Buffered())
		tap.buf = append(tap.buf[:0], b...)
		tap.on = true
		resp, err = http.ReadResponse(ubr, out)
		tap.on = false
		connTokens = connectionTokens(tap.buf)
		if err != nil {
			return fail(&refusal{status: http.StatusBadGateway, reason: ev.Reason + "; read upstream response: " + err.Error(), allowed: true})
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		resp.Body.Close()
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return fail(&refusal{status: http.StatusBadGateway, reason: ev.Reason + "; upstream switched protocols, which is not proxied", allowed: true})
	}
	removeHopHeaders(resp.Header)
	for _, name := range connTokens {
		resp.Header.Del(name)
	}
	keep := !req.Close && (resp.ContentLength >= 0 || len(resp.TransferEncoding) > 0 || req.Method == http.MethodHead)
	resp.Close = !keep
	ev.Status = resp.StatusCode
	if err := resp.Write(cidle); err != nil {
		ev.Reason += "; write response to client: " + err.Error()
		return false
	}
	return keep
}

// headerTap records the raw bytes of a response header while on and bounds
// its size. http.ReadResponse drops a Connection header that contains
// "close", and with it the names of the other hop-by-hop headers listed
// there; the raw bytes keep them.
type headerTap struct {
	r   io.Reader
	on  bool
	buf []byte
}

func (t *headerTap) Read(b []byte) (int, error) {
	if t.on && len(t.buf) >= maxHeaderBytes {
		return 0, errHeaderTooLarge
	}
	n, err := t.r.Read(b)
	if t.on {
		t.buf = append(t.buf, b[:n]...)
	}
	return n, err
}

// connectionTokens returns the header names listed in the Connection
// headers of a raw response header block.
func connectionTokens(raw []byte) []string {
	block := string(raw)
	if i := strings.Index(block, "\r\n\r\n"); i >= 0 {
		block = block[:i]
	} else if i := strings.Index(block, "\n\n"); i >= 0 {
		block = block[:i]
	}
	var names []string
	lines := strings.Split(block, "\n")
	for _, line := range lines[min(1, len(lines)):] {
		name, value, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "Connection") {
			continue
		}
		for tok := range strings.SplitSeq(value, ",") {
			if tok = strings.TrimSpace(tok); tok != "" && !strings.EqualFold(tok, "close") && !strings.EqualFold(tok, "keep-alive") {
				names = append(names, tok)
			}
		}
	}
	return names
}

// readerBody reads a request body from the client with idle deadlines.
type readerBody struct {
	r io.ReadCloser
	c *idleConn
}

func (b readerBody) Read(p []byte) (int, error) {
	b.c.arm()
	return b.r.Read(p)
}

func (b readerBody) Close() error { return b.r.Close() }

// idleConn refreshes read and write deadlines before every operation.
type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleConn) arm() { _ = c.Conn.SetDeadline(time.Now().Add(c.idle)) }

func (c *idleConn) Read(b []byte) (int, error) {
	c.arm()
	return c.Conn.Read(b)
}

func (c *idleConn) Write(b []byte) (int, error) {
	c.arm()
	return c.Conn.Write(b)
}

// writeError sends a complete short response that closes the connection.
func writeError(w io.Writer, status int, msg string) {
	body := "ouro netproxy: " + msg + "\n"
	_, _ = fmt.Fprintf(w, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), len(body), body)
}

// escapeHost makes a raw, possibly hostile host printable for logs.
func escapeHost(s string) string {
	q := strconv.QuoteToASCII(truncate(s))
	return q[1 : len(q)-1]
}

func truncate(s string) string {
	const n = 256
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
