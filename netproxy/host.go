package netproxy

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

const (
	maxHostLen  = 253
	maxLabelLen = 63
)

// idnaProfile converts internationalised names. It is the registration
// profile: no mapping (fullwidth letters, non-ASCII capitals and the like are
// refused rather than folded), hyphen, joiner and bidi rules enforced.
var idnaProfile = idna.Registration

// ValidateHost checks a host name or IP literal as it appeared in a request
// and returns its normalised form: lower case, one trailing dot removed,
// internationalised names in their ASCII (punycode) form, IP literals in
// canonical form (IPv6 without brackets). The error says what is wrong with
// the host.
func ValidateHost(h string) (string, error) {
	if h == "" {
		return "", errors.New("host is empty")
	}
	if len(h) > 4*maxHostLen {
		return "", fmt.Errorf("host is %d bytes long; the limit is %d", len(h), maxHostLen)
	}
	if err := checkHostBytes(h); err != nil {
		return "", err
	}
	if strings.HasPrefix(h, "[") || strings.Contains(h, ":") {
		return validateIPv6(h)
	}
	if strings.HasSuffix(h, ".") {
		h = h[:len(h)-1]
		if h == "" || strings.HasSuffix(h, ".") {
			return "", fmt.Errorf("host %q has an empty label", h+".")
		}
	}
	// Only ASCII letters are folded: Unicode case mapping turns some
	// non-ASCII letters into ASCII ones (U+212A KELVIN SIGN into "k").
	h = asciiLower(h)
	if !isASCII(h) {
		a, err := idnaProfile.ToASCII(h)
		if err != nil {
			return "", fmt.Errorf("host %q is not a valid internationalised name (%v); use its punycode form", h, err)
		}
		h = a
	}
	if len(h) > maxHostLen {
		return "", fmt.Errorf("host is %d bytes long; the limit is %d", len(h), maxHostLen)
	}
	labels := strings.Split(h, ".")
	if isNumericLabel(labels[len(labels)-1]) {
		a, err := netip.ParseAddr(h)
		if err != nil || !a.Is4() {
			return "", fmt.Errorf("numeric host %q is not a dotted-quad IPv4 address; forms like 0x7f.0.0.1, 2130706433, 0177.0.0.1 and 127.1 are refused", h)
		}
		return a.String(), nil
	}
	for _, l := range labels {
		if err := checkLabel(h, l); err != nil {
			return "", err
		}
	}
	return h, nil
}

// checkHostBytes refuses bytes that have no business in a host name and that
// parsers disagree about: control bytes, whitespace, user-info, percent
// escapes, backslashes and URL delimiters.
func checkHostBytes(h string) error {
	if !utf8.ValidString(h) {
		return fmt.Errorf("host %q is not valid UTF-8", h)
	}
	for _, r := range h {
		switch {
		case r == 0:
			return fmt.Errorf("host %q contains a NUL byte", h)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return fmt.Errorf("host %q contains control character %U", h, r)
		case unicode.IsSpace(r):
			return fmt.Errorf("host %q contains whitespace %U", h, r)
		case r == '@':
			return fmt.Errorf("host %q contains user-info (\"@\"); give only the host name", h)
		case r == '%':
			return fmt.Errorf("host %q contains percent-encoding; give the host name unescaped", h)
		case r == '\\':
			return fmt.Errorf("host %q contains a backslash", h)
		case r == '/' || r == '?' || r == '#':
			return fmt.Errorf("host %q contains %q; give only the host name, not a URL", h, r)
		case unicode.Is(unicode.Cf, r):
			return fmt.Errorf("host %q contains invisible format character %U", h, r)
		}
	}
	return nil
}

func validateIPv6(h string) (string, error) {
	inner := h
	if strings.HasPrefix(h, "[") {
		if !strings.HasSuffix(h, "]") {
			return "", fmt.Errorf("host %q has an unclosed \"[\"", h)
		}
		inner = h[1 : len(h)-1]
	}
	a, err := netip.ParseAddr(inner)
	if err != nil || !a.Is6() {
		return "", fmt.Errorf("host %q contains \":\" but is not an IPv6 address; give the port separately", h)
	}
	if a.Zone() != "" {
		return "", fmt.Errorf("host %q has an IPv6 zone; zones are refused", h)
	}
	return a.String(), nil
}

// isNumericLabel reports whether l is a label that URL parsers treat as a
// number (decimal, or hex with a 0x prefix), which turns the whole host into
// an IPv4 address.
func isNumericLabel(l string) bool {
	if l == "" {
		return false
	}
	if strings.HasPrefix(l, "0x") {
		for _, c := range l[2:] {
			if !strings.ContainsRune("0123456789abcdef", c) {
				return false
			}
		}
		return true
	}
	for _, c := range l {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// checkLabel checks one label of an ASCII host name.
func checkLabel(host, l string) error {
	if l == "" {
		return fmt.Errorf("host %q has an empty label", host)
	}
	if len(l) > maxLabelLen {
		return fmt.Errorf("host %q has a label of %d bytes; the limit is %d", host, len(l), maxLabelLen)
	}
	if l[0] == '-' || l[len(l)-1] == '-' {
		return fmt.Errorf("host %q has label %q that starts or ends with a hyphen", host, l)
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' {
			continue
		}
		return fmt.Errorf("host %q contains %q; host names use letters, digits and hyphens", host, rune(c))
	}
	if strings.HasPrefix(l, "xn--") {
		return checkPunycodeLabel(host, l)
	}
	return nil
}

// checkPunycodeLabel decodes an IDNA label and refuses it unless it decodes
// cleanly to letters, marks and digits of one script (or one of the usual
// East Asian combinations), which stops most homograph labels such as a
// Latin name with one Cyrillic letter.
func checkPunycodeLabel(host, l string) error {
	u, err := idnaProfile.ToUnicode(l)
	if err != nil {
		return fmt.Errorf("host %q has label %q that is not valid punycode (%v)", host, l, err)
	}
	if isASCII(u) {
		return fmt.Errorf("host %q has punycode label %q that decodes to plain ASCII", host, l)
	}
	scripts := map[string]bool{}
	for _, r := range u {
		if r == '-' {
			continue
		}
		if !unicode.In(r, unicode.L, unicode.M, unicode.Nd) {
			return fmt.Errorf("host %q has label %q (%s) with non-letter %U", host, l, u, r)
		}
		if s := scriptOf(r); s != "" {
			scripts[s] = true
		}
	}
	if !allowedScriptMix(scripts) {
		return fmt.Errorf("host %q has label %q (%s) that mixes scripts %s", host, l, u, scriptList(scripts))
	}
	return nil
}

// scriptOf returns the Unicode script of r, or "" for Common and Inherited.
func scriptOf(r rune) string {
	if r < utf8.RuneSelf {
		if (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') {
			return "Latin"
		}
		return ""
	}
	for name, table := range unicode.Scripts {
		if name == "Common" || name == "Inherited" {
			continue
		}
		if unicode.Is(table, r) {
			return name
		}
	}
	return ""
}

// scriptMixes are the multi-script combinations a label may use: the
// "highly restrictive" sets of Unicode's security mechanisms (UTS #39).
var scriptMixes = [][]string{
	{"Latin", "Han", "Hiragana", "Katakana"},
	{"Latin", "Han", "Bopomofo"},
	{"Latin", "Han", "Hangul"},
}

func allowedScriptMix(scripts map[string]bool) bool {
	if len(scripts) <= 1 {
		return true
	}
	for _, set := range scriptMixes {
		in := 0
		for _, s := range set {
			if scripts[s] {
				in++
			}
		}
		if in == len(scripts) {
			return true
		}
	}
	return false
}

func scriptList(scripts map[string]bool) string {
	var names []string
	for s := range scripts {
		names = append(names, s)
	}
	slices.Sort(names)
	return strings.Join(names, "+")
}

func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// splitAuthority splits "host:port" (or "host" when defaultPort is not 0)
// as it appeared on the wire and validates both parts.
func splitAuthority(auth string, defaultPort int) (string, int, error) {
	if auth == "" {
		return "", 0, errors.New("request names no host")
	}
	if strings.Contains(auth, "@") {
		return "", 0, fmt.Errorf("authority %q contains user-info (\"@\"); give only host:port", auth)
	}
	host, portStr, hasPort := auth, "", false
	if strings.HasPrefix(auth, "[") {
		end := strings.IndexByte(auth, ']')
		if end < 0 {
			return "", 0, fmt.Errorf("authority %q has an unclosed \"[\"", auth)
		}
		host = auth[:end+1]
		rest := auth[end+1:]
		if rest != "" {
			if rest[0] != ':' {
				return "", 0, fmt.Errorf("authority %q has text after \"]\" that is not a port", auth)
			}
			portStr, hasPort = rest[1:], true
		}
	} else if i := strings.LastIndexByte(auth, ':'); i >= 0 {
		host, portStr, hasPort = auth[:i], auth[i+1:], true
		if strings.Contains(host, ":") {
			return "", 0, fmt.Errorf("authority %q is ambiguous; write an IPv6 address in brackets, like [2001:db8::1]:443", auth)
		}
	}
	port := defaultPort
	if hasPort {
		p, err := parsePort(portStr)
		if err != nil {
			return "", 0, fmt.Errorf("authority %q: %w", auth, err)
		}
		port = p
	} else if defaultPort == 0 {
		return "", 0, fmt.Errorf("authority %q has no port; use host:port", auth)
	}
	h, err := ValidateHost(host)
	if err != nil {
		return "", 0, err
	}
	return h, port, nil
}

// parsePort accepts a decimal port 1-65535 without sign or leading zeros.
func parsePort(s string) (int, error) {
	if s == "" || len(s) > 5 || s[0] == '0' {
		return 0, fmt.Errorf("port %q must be a decimal number 1-65535", s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("port %q must be a decimal number 1-65535", s)
		}
	}
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("port %q must be a decimal number 1-65535", s)
	}
	return p, nil
}

// pattern is one parsed entry of Config.Allow.
type pattern struct {
	raw      string
	wildcard bool   // "*.base": strict subdomains of base
	host     string // normalised host, or the base of a wildcard
	port     int    // 0: ports 80 and 443
}

// ValidatePattern checks one Config.Allow entry: "host", "*.domain",
// "host:port", "*.domain:port", an exact IP ("192.0.2.7", "[2001:db8::1]:8443").
func ValidatePattern(s string) error {
	_, err := parsePattern(s)
	return err
}

func parsePattern(s string) (pattern, error) {
	p := pattern{raw: s}
	rest := strings.TrimSpace(s)
	if strings.HasPrefix(rest, "*.") {
		p.wildcard = true
		rest = rest[2:]
	}
	if strings.Contains(rest, "*") {
		return p, fmt.Errorf("allow pattern %q: a wildcard may only be a leading \"*.\"", s)
	}
	host := rest
	switch {
	case strings.HasPrefix(rest, "["):
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return p, fmt.Errorf("allow pattern %q has an unclosed \"[\"", s)
		}
		host = rest[:end+1]
		if tail := rest[end+1:]; tail != "" {
			if tail[0] != ':' {
				return p, fmt.Errorf("allow pattern %q has text after \"]\" that is not a port", s)
			}
			port, err := parsePort(tail[1:])
			if err != nil {
				return p, fmt.Errorf("allow pattern %q: %w", s, err)
			}
			p.port = port
		}
	case strings.Count(rest, ":") == 1:
		i := strings.IndexByte(rest, ':')
		host = rest[:i]
		port, err := parsePort(rest[i+1:])
		if err != nil {
			return p, fmt.Errorf("allow pattern %q: %w", s, err)
		}
		p.port = port
	}
	h, err := ValidateHost(host)
	if err != nil {
		return p, fmt.Errorf("allow pattern %q: %w", s, err)
	}
	if _, err := netip.ParseAddr(h); err == nil && p.wildcard {
		return p, fmt.Errorf("allow pattern %q: a wildcard cannot apply to an IP address", s)
	}
	if p.wildcard && !strings.Contains(h, ".") {
		return p, fmt.Errorf("allow pattern %q: a wildcard needs a domain of at least two labels, like \"*.example.com\"", s)
	}
	p.host = h
	return p, nil
}

// match reports whether the pattern admits the normalised host and port.
func (p pattern) match(host string, port int, isIP bool) bool {
	if p.port == 0 {
		if port != 80 && port != 443 {
			return false
		}
	} else if port != p.port {
		return false
	}
	if p.wildcard {
		return !isIP && strings.HasSuffix(host, "."+p.host)
	}
	return host == p.host
}
