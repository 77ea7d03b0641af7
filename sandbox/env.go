package sandbox

import (
	"strings"
)

// allowedEnv lists the variables a command may receive from the host or
// from Command.Env. Anything else is dropped.
var allowedEnv = map[string]bool{
	"PATH": true, "LANG": true, "LANGUAGE": true, "TERM": true, "COLORTERM": true, "TZ": true,
	"NO_COLOR": true, "FORCE_COLOR": true, "CLICOLOR": true, "COLUMNS": true, "LINES": true,
	"CI": true, "PAGER": true, "LESS": true, "EDITOR": true, "SOURCE_DATE_EPOCH": true,
	"DEBIAN_FRONTEND": true,
	"GIT_AUTHOR_NAME": true, "GIT_AUTHOR_EMAIL": true, "GIT_AUTHOR_DATE": true,
	"GIT_COMMITTER_NAME": true, "GIT_COMMITTER_EMAIL": true, "GIT_COMMITTER_DATE": true,
	"GOFLAGS": true, "GOOS": true, "GOARCH": true, "GOAMD64": true, "GOARM": true, "GOARM64": true,
	"GOEXPERIMENT": true, "GODEBUG": true, "GOTOOLCHAIN": true, "GOPROXY": true, "GOSUMDB": true,
	"GONOSUMDB": true, "GONOPROXY": true, "GOPRIVATE": true, "GOWORK": true, "GOTRACEBACK": true,
	"GOMAXPROCS": true, "GOGC": true, "GOMEMLIMIT": true, "GO111MODULE": true,
	"CGO_ENABLED": true, "CGO_CFLAGS": true, "CGO_CXXFLAGS": true, "CGO_LDFLAGS": true, "CC": true, "CXX": true,
	"PYTHONDONTWRITEBYTECODE": true, "PYTHONUNBUFFERED": true, "PYTHONHASHSEED": true,
	"NODE_ENV": true, "RUST_BACKTRACE": true, "CARGO_TERM_COLOR": true,
}

// deniedEnvParts are name fragments that mark a variable as a secret;
// they win over the allowlist.
var deniedEnvParts = []string{
	"KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH", "COOKIE", "SESSION",
}

// notSecretParts are removed from a name before matching deniedEnvParts,
// so that GIT_AUTHOR_NAME is not taken for an authentication variable.
var notSecretParts = strings.NewReplacer("AUTHOR", "")

// deniedEnvPrefixes are name prefixes of cloud and agent credentials.
var deniedEnvPrefixes = []string{
	"AWS_", "GOOGLE_", "GCLOUD", "GCP_", "CLOUDSDK_", "AZURE_", "DOCKER_", "KUBE", "SSH_",
	"DIGITALOCEAN", "OPENAI", "ANTHROPIC", "OURO_",
}

// envAllowed reports whether a variable may enter the sandbox.
func envAllowed(name, value string) bool {
	if name == "" || strings.ContainsAny(name, "=\x00") || strings.Contains(value, "\x00") {
		return false
	}
	up := strings.ToUpper(name)
	stripped := notSecretParts.Replace(up)
	for _, p := range deniedEnvParts {
		if strings.Contains(stripped, p) {
			return false
		}
	}
	for _, p := range deniedEnvPrefixes {
		if strings.HasPrefix(up, p) {
			return false
		}
	}
	if hasURLUserinfo(value) {
		return false
	}
	return allowedEnv[name] || strings.HasPrefix(name, "LC_")
}

// hasURLUserinfo reports whether value contains a URL with user
// information (scheme://user:password@host), such as a proxy URL with
// credentials.
func hasURLUserinfo(value string) bool {
	for {
		i := strings.Index(value, "://")
		if i < 0 {
			return false
		}
		rest := value[i+3:]
		end := strings.IndexAny(rest, "/?#, ")
		if end < 0 {
			end = len(rest)
		}
		if strings.Contains(rest[:end], "@") {
			return true
		}
		value = rest
	}
}

// envList is an ordered set of KEY=VALUE pairs where a later Set wins.
type envList struct {
	keys []string
	vals map[string]string
}

func newEnvList() *envList { return &envList{vals: map[string]string{}} }

// Set adds or replaces a variable.
func (e *envList) Set(k, v string) {
	if _, ok := e.vals[k]; !ok {
		e.keys = append(e.keys, k)
	}
	e.vals[k] = v
}

// Get returns a variable's value.
func (e *envList) Get(k string) (string, bool) {
	v, ok := e.vals[k]
	return v, ok
}

// AddFiltered adds the pairs that pass envAllowed.
func (e *envList) AddFiltered(pairs []string) {
	for _, kv := range pairs {
		k, v, ok := strings.Cut(kv, "=")
		if ok && envAllowed(k, v) {
			e.Set(k, v)
		}
	}
}

// Clone returns an independent copy.
func (e *envList) Clone() *envList {
	c := &envList{keys: append([]string(nil), e.keys...), vals: make(map[string]string, len(e.vals))}
	for k, v := range e.vals {
		c.vals[k] = v
	}
	return c
}

// Pairs returns KEY=VALUE strings in insertion order.
func (e *envList) Pairs() []string {
	out := make([]string, 0, len(e.keys))
	for _, k := range e.keys {
		out = append(out, k+"="+e.vals[k])
	}
	return out
}
