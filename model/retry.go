package model

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Defaults for Config's zero fields.
const (
	DefaultTimeout    = 10 * time.Minute
	DefaultMaxRetries = 5
)

// Backoff defaults: the first retry waits about half a second, each later
// one twice as long, never more than 30 seconds; a server's retry-after is
// honoured up to 5 minutes.
const (
	defaultBaseDelay = 500 * time.Millisecond
	defaultMaxDelay  = 30 * time.Second
	maxRetryAfter    = 5 * time.Minute
)

// retrier runs one logical request: an attempt per try, each under its own
// timeout, with exponential backoff and jitter between transient failures.
type retrier struct {
	provider   string
	maxRetries int
	timeout    time.Duration
	baseDelay  time.Duration
	maxDelay   time.Duration
	sleep      func(context.Context, time.Duration) error
	log        *slog.Logger
}

func newRetrier(provider string, cfg Config, o options) *retrier {
	r := &retrier{
		provider:   provider,
		maxRetries: cfg.MaxRetries,
		timeout:    cfg.Timeout,
		baseDelay:  o.baseDelay,
		maxDelay:   o.maxDelay,
		sleep:      o.sleep,
		log:        o.log,
	}
	switch {
	case r.maxRetries == 0:
		r.maxRetries = DefaultMaxRetries
	case r.maxRetries < 0:
		r.maxRetries = 0
	}
	if r.timeout <= 0 {
		r.timeout = DefaultTimeout
	}
	return r
}

// attemptFunc makes one request. A failure must be an *Error.
type attemptFunc func(ctx context.Context) (*Response, error)

func (r *retrier) run(ctx context.Context, attempt attemptFunc) (*Response, error) {
	for n := 0; ; n++ {
		actx, cancel := context.WithTimeout(ctx, r.timeout)
		resp, err := attempt(actx)
		timedOut := errors.Is(actx.Err(), context.DeadlineExceeded)
		cancel()
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, cancelled(r.provider, ctx.Err())
		}
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{Kind: KindBadResponse, Provider: r.provider, Message: oneLine(err.Error(), 300), err: err}
		}
		if timedOut {
			e = &Error{Kind: KindTimeout, Provider: r.provider, err: context.DeadlineExceeded,
				Message: fmt.Sprintf("no complete reply within %s; raise the model timeout if the model needs longer", r.timeout)}
		}
		e.Attempts = n + 1
		if !e.retryable || n >= r.maxRetries {
			return nil, e
		}
		delay := r.backoff(n)
		if e.retryAfter > 0 {
			if e.retryAfter > maxRetryAfter {
				e.Message += fmt.Sprintf("; the server asks to wait %s, longer than ouro waits", e.retryAfter.Round(time.Second))
				return nil, e
			}
			delay = e.retryAfter
		}
		r.log.Warn("model request failed; retrying", "provider", r.provider, "attempt", n+1, "delay", delay, "error", e.Message)
		if err := r.sleep(ctx, delay); err != nil {
			return nil, cancelled(r.provider, err)
		}
	}
}

// backoff is the wait before retry n+1: base*2^n capped at maxDelay, with
// equal jitter (between half and all of it) so that many clients hit by the
// same outage do not come back in step.
func (r *retrier) backoff(n int) time.Duration {
	d := r.baseDelay
	for i := 0; i < n && d < r.maxDelay; i++ {
		d *= 2
	}
	d = min(d, r.maxDelay)
	half := d / 2
	return half + rand.N(half+1)
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
