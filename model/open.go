package model

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// specForms is the hint every bad spec gets.
const specForms = "use anthropic:MODEL, openai:MODEL or script:FILE"

// options are the parts of a provider that tests replace: the environment,
// the clock between retries, and the HTTP client.
type options struct {
	getenv     func(string) string
	sleep      func(context.Context, time.Duration) error
	baseDelay  time.Duration
	maxDelay   time.Duration
	httpClient *http.Client
	log        *slog.Logger
}

func defaultOptions() options {
	return options{
		getenv:    os.Getenv,
		sleep:     sleepCtx,
		baseDelay: defaultBaseDelay,
		maxDelay:  defaultMaxDelay,
		log:       slog.Default(),
	}
}

// Open returns the provider a spec names: "anthropic:MODEL", "openai:MODEL"
// or "script:FILE". A relative FILE is read from the working directory.
// Providers are safe for concurrent use; every failure is an *Error.
func Open(spec string, cfg Config) (Provider, error) {
	return open(spec, cfg, defaultOptions())
}

func open(spec string, cfg Config, o options) (Provider, error) {
	kind, name, err := splitSpec(spec)
	if err != nil {
		return nil, err
	}
	if o.httpClient == nil {
		o.httpClient = newHTTPClient()
	}
	switch kind {
	case "anthropic":
		return newAnthropic(name, cfg, o)
	case "openai":
		return newOpenAI(name, cfg, o)
	default:
		return openScript(name, cfg)
	}
}

// splitSpec checks a spec and splits it into provider and model (or file).
func splitSpec(spec string) (kind, name string, err error) {
	spec = strings.TrimSpace(spec)
	kind, name, found := strings.Cut(spec, ":")
	if !found {
		return "", "", &Error{Kind: KindConfig, Provider: "model",
			Message: fmt.Sprintf("%q names no provider; %s", spec, specForms)}
	}
	switch kind {
	case "anthropic", "openai", "script":
	default:
		return "", "", &Error{Kind: KindConfig, Provider: "model",
			Message: fmt.Sprintf("unknown provider %q in %q; %s", kind, spec, specForms)}
	}
	name = strings.TrimSpace(name)
	if name == "" {
		what, example := "model name", kind+":claude-sonnet-4-5"
		switch kind {
		case "openai":
			example = "openai:gpt-4.1"
		case "script":
			what, example = "file", "script:turns.jsonl"
		}
		return "", "", &Error{Kind: KindConfig, Provider: "model",
			Message: fmt.Sprintf("%q has no %s; write it as %s", spec, what, example)}
	}
	if strings.ContainsAny(name, " \t\r\n") && kind != "script" {
		return "", "", &Error{Kind: KindConfig, Provider: kind,
			Message: fmt.Sprintf("model name %q contains white space", name)}
	}
	return kind, name, nil
}

// ResolveScript rewrites a "script:FILE" spec whose FILE is relative so that
// it is relative to baseDir instead of the working directory; any other
// spec is returned unchanged. A parent script that delegates to a child
// whose model is "script:child.jsonl" uses it to find the child's file next
// to its own.
func ResolveScript(spec, baseDir string) string {
	kind, name, found := strings.Cut(strings.TrimSpace(spec), ":")
	name = strings.TrimSpace(name)
	if !found || kind != "script" || name == "" || filepath.IsAbs(name) || baseDir == "" {
		return spec
	}
	return "script:" + filepath.Join(baseDir, name)
}

// checkBaseURL validates a base URL override.
func checkBaseURL(provider, base string) error {
	if base == "" {
		return nil
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &Error{Kind: KindConfig, Provider: provider,
			Message: fmt.Sprintf("base_url %q is not an http:// or https:// URL", base)}
	}
	return nil
}

// newHTTPClient is the client both remote providers use. Timeouts are per
// request, through the context, so the client sets none of its own beyond
// connection set-up.
func newHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 0
	return &http.Client{Transport: t}
}
