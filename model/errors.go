package model

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Kind classifies a model error so callers can decide what to do about it
// without parsing messages.
type Kind string

// Error kinds.
const (
	KindConfig        Kind = "config"         // bad spec, base URL or missing key: fix the configuration
	KindAuth          Kind = "auth"           // the key was rejected or lacks permission
	KindUnknownModel  Kind = "unknown_model"  // the endpoint does not serve this model
	KindBadRequest    Kind = "bad_request"    // the endpoint refused the request as malformed
	KindContextLength Kind = "context_length" // the conversation no longer fits the context window
	KindUnreachable   Kind = "unreachable"    // no connection, or it dropped mid-reply
	KindRateLimited   Kind = "rate_limited"   // 429 after every retry
	KindOverloaded    Kind = "overloaded"     // 529 or overloaded_error after every retry
	KindServer        Kind = "server_error"   // 5xx after every retry
	KindBadResponse   Kind = "bad_response"   // the reply could not be understood
	KindTimeout       Kind = "timeout"        // no complete reply within the per-request timeout
	KindCancelled     Kind = "cancelled"      // the caller's context ended
	KindScript        Kind = "script"         // a scripted conversation went off script
)

// Error is what every provider returns when a call fails. Its Error method
// gives one line that says what went wrong and, where it can, how to fix it.
type Error struct {
	Kind     Kind   // what class of failure this is
	Provider string // anthropic, openai or script
	Status   int    // HTTP status, 0 when there was none
	Message  string // one line, without the provider prefix
	Attempts int    // requests made, including retries

	retryAfter time.Duration // what the server asked us to wait, 0 if nothing
	retryable  bool          // whether another attempt may succeed
	err        error         // the underlying cause, for errors.Is and errors.As
}

// Error returns "provider: message" ("script FILE ..." for the scripted
// provider), plus how many attempts were made when there was more than one.
func (e *Error) Error() string {
	msg := e.Provider + ": " + e.Message
	if e.Provider == scriptProviderTag {
		msg = "script " + e.Message // "script FILE line N: ..."
	}
	if e.Attempts > 1 {
		msg += fmt.Sprintf(" (gave up after %d attempts)", e.Attempts)
	}
	return msg
}

// Unwrap returns the underlying cause, such as context.Canceled.
func (e *Error) Unwrap() error { return e.err }

// Retryable reports whether the failure is transient: rate limits,
// overload, server errors and dropped connections.
func (e *Error) Retryable() bool { return e.retryable }

// oneLine squeezes s to a single line of at most n runes, so an error never
// carries a multi-line dump of whatever a server sent.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "..."
	}
	return s
}

// netReason gives the short reason of a connection failure: "connection
// refused", "no such host", "unexpected EOF", ...
func netReason(err error) string {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		if dns.IsNotFound {
			return "no such host " + dns.Name
		}
		return oneLine(dns.Error(), 200)
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return oneLine(op.Err.Error(), 200)
	}
	msg := err.Error()
	// url.Error prefixes `Post "https://...": `; keep what follows.
	if i := strings.LastIndex(msg, "\": "); i >= 0 {
		msg = msg[i+3:]
	}
	return oneLine(msg, 200)
}

// isNetError reports whether err is a transport failure rather than a
// response the server sent: a refused or reset connection, a body cut
// short, an HTTP/2 stream torn down.
func isNetError(err error) bool {
	var ne net.Error
	var errno syscall.Errno
	if errors.As(err, &ne) || errors.As(err, &errno) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"connection reset", "broken pipe", "stream error", "GOAWAY", "use of closed network connection"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// displayURL is a URL fit for an error message: without user info or a
// query, either of which may hold a credential.
func displayURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "the configured base_url"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// cancelled is the error for a caller whose context ended.
func cancelled(provider string, err error) *Error {
	return &Error{Kind: KindCancelled, Provider: provider, Message: "cancelled: " + err.Error(), err: err}
}

// contextErr reports whether err is the caller's own context ending.
func contextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
