package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// exchange records what the server answered to one attempt, whatever the
// SDK then makes of it: the status and headers decide retries, and the body
// of an error response gives the message.
type exchange struct {
	url    string
	status int
	header http.Header
	body   []byte // error responses only, capped
}

// maxErrorBody caps how much of an error response is kept.
const maxErrorBody = 64 << 10

// middleware has the shape both SDKs accept in option.WithMiddleware.
func (x *exchange) middleware(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	x.url = req.URL.String()
	res, err := next(req)
	if err != nil || res == nil {
		return res, err
	}
	x.status = res.StatusCode
	x.header = res.Header.Clone()
	if res.StatusCode >= 400 {
		b, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
		_ = res.Body.Close()
		x.body = b
		res.Body = io.NopCloser(bytes.NewReader(b))
	}
	return res, nil
}

// apiMessage digs the human message out of an error body. It knows the
// Anthropic and OpenAI shapes ({"error":{"type","message","code"}}), the
// vLLM shape ({"object":"error","message"}) and the Ollama shape
// ({"error":"..."}). ok is false when the body is not a JSON API error.
func apiMessage(body []byte) (typ, code, msg string, ok bool) {
	var raw struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Code    any             `json:"code"`
	}
	if json.Unmarshal(body, &raw) != nil {
		return "", "", "", false
	}
	typ, msg = raw.Type, raw.Message
	code = codeString(raw.Code)
	if len(raw.Error) > 0 {
		var s string
		if json.Unmarshal(raw.Error, &s) == nil {
			msg = s
		} else {
			var inner struct {
				Type    string `json:"type"`
				Message string `json:"message"`
				Code    any    `json:"code"`
			}
			if json.Unmarshal(raw.Error, &inner) == nil {
				typ, msg, code = inner.Type, inner.Message, codeString(inner.Code)
			}
		}
	}
	return typ, code, msg, msg != "" || typ != "" || code != ""
}

func codeString(v any) string {
	switch c := v.(type) {
	case string:
		return c
	case float64:
		return strconv.FormatFloat(c, 'f', -1, 64)
	}
	return ""
}

// contextTooLong reports whether an error message says the prompt no longer
// fits the model's window, in the wording of the known servers.
func contextTooLong(code, msg string) bool {
	if code == "context_length_exceeded" {
		return true
	}
	m := strings.ToLower(msg)
	for _, s := range []string{"prompt is too long", "context length", "context_length", "context window", "maximum context", "too many tokens"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// httpError turns an error status into an *Error. keyEnv names the
// environment variable that holds the key, for the hint on a 401.
func httpError(provider, model, keyEnv string, x *exchange) *Error {
	typ, code, msg, isAPI := apiMessage(x.body)
	e := &Error{Provider: provider, Status: x.status, retryAfter: retryAfter(x.header, time.Now())}
	detail := ""
	if msg != "" {
		detail = ": " + oneLine(msg, 200)
	}
	switch {
	case x.status == http.StatusUnauthorized:
		e.Kind = KindAuth
		e.Message = fmt.Sprintf("the API key was rejected (401); set %s to a valid key", keyEnv)
	case x.status == http.StatusForbidden:
		e.Kind = KindAuth
		e.Message = fmt.Sprintf("permission denied (403)%s", detail)
	case x.status == http.StatusNotFound && isAPI:
		e.Kind = KindUnknownModel
		e.Message = fmt.Sprintf("unknown model %q (404)", model)
	case x.status == http.StatusNotFound:
		e.Kind = KindConfig
		e.Message = fmt.Sprintf("nothing answers at %s (404); check base_url", displayURL(x.url))
	case x.status == http.StatusTooManyRequests:
		e.Kind, e.retryable = KindRateLimited, true
		e.Message = "rate limited (429)" + detail
	case x.status == 529 || typ == "overloaded_error":
		e.Kind, e.retryable = KindOverloaded, true
		e.Message = fmt.Sprintf("the API is overloaded (%d)%s", x.status, detail)
	case x.status == http.StatusRequestTimeout:
		e.Kind, e.retryable = KindTimeout, true
		e.Message = "the server timed out reading the request (408)"
	case x.status >= 500:
		e.Kind, e.retryable = KindServer, true
		e.Message = fmt.Sprintf("server error (%d)%s", x.status, detail)
	case contextTooLong(code, msg):
		e.Kind = KindContextLength
		e.Message = fmt.Sprintf("the conversation is too long for model %q (%d)%s", model, x.status, detail)
	case x.status == http.StatusBadRequest || x.status == http.StatusUnprocessableEntity || x.status == http.StatusRequestEntityTooLarge:
		e.Kind = KindBadRequest
		e.Message = fmt.Sprintf("the request was refused (%d)%s", x.status, detail)
	default:
		e.Kind = KindBadResponse
		e.Message = fmt.Sprintf("unexpected status %d%s", x.status, detail)
	}
	return e
}

// retryAfter reads how long the server asked us to wait: retry-after-ms
// (milliseconds), then retry-after (seconds or an HTTP date). It returns 0
// when neither is set or readable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if h == nil {
		return 0
	}
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
			return time.Duration(f * float64(time.Millisecond))
		}
	}
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
			return time.Duration(f * float64(time.Second))
		}
		if t, err := http.ParseTime(v); err == nil && t.After(now) {
			return t.Sub(now)
		}
	}
	return 0
}
