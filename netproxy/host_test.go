package netproxy

import (
	"net/netip"
	"strings"
	"testing"
)

func TestValidateHostAccepts(t *testing.T) {
	long63 := strings.Repeat("a", 63)
	// 63+1+63+1+63+1+61 = 253 bytes.
	long253 := long63 + "." + long63 + "." + long63 + "." + strings.Repeat("b", 61)
	tests := []struct{ in, want string }{
		{"example.com", "example.com"},
		{"Example.COM.", "example.com"},
		{"proxy.golang.org", "proxy.golang.org"},
		{"r3---sn-abc.googlevideo.com", "r3---sn-abc.googlevideo.com"},
		{"_dmarc.example.com", "_dmarc.example.com"},
		{"bücher.de", "xn--bcher-kva.de"},
		{"xn--bcher-kva.de", "xn--bcher-kva.de"},
		{"XN--BCHER-KVA.DE", "xn--bcher-kva.de"},
		{"日本語.jp", "xn--wgv71a119e.jp"},
		{"例え.テスト", "xn--r8jz45g.xn--zckzah"}, // Han+Hiragana, Katakana
		{"1.2.3.4", "1.2.3.4"},
		{"93.184.216.34.", "93.184.216.34"},
		{"[2001:DB8::1]", "2001:db8::1"},
		{"2001:db8:0:0::1", "2001:db8::1"},
		{"[::ffff:7f00:1]", "::ffff:127.0.0.1"},
		{"a1.b-c.d", "a1.b-c.d"},
		{long63 + ".com", long63 + ".com"},
		{long253, long253},
		{"123.example.com", "123.example.com"},
		{"0x.example.com", "0x.example.com"},
	}
	for _, tt := range tests {
		got, err := ValidateHost(tt.in)
		if err != nil {
			t.Errorf("ValidateHost(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ValidateHost(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// malformedHosts are hosts an agent might use to confuse a parser or slip
// past a check, with a word the error must contain.
var malformedHosts = []struct {
	name, host, wantErr string
}{
	{"empty", "", "empty"},
	{"NUL", "exa\x00mple.com", "NUL"},
	{"NUL suffix", "example.com\x00.evil.org", "NUL"},
	{"control byte", "exa\x01mple.com", "control"},
	{"DEL", "example.com\x7f", "control"},
	{"C1 control", "exa\u0085mple.com", "control"},
	{"CR LF", "example.com\r\nX-Injected: 1", "control"},
	{"tab", "example.com\t", "control"},
	{"space", "exa mple.com", "whitespace"},
	{"no-break space", "\u00a0example.com", "whitespace"},
	{"ideographic space", "example\u3000.com", "whitespace"},
	{"zero-width space", "exam\u200bple.com", "invisible"},
	{"user-info", "user@example.com", "user-info"},
	{"user-info with password", "user:pass@example.com", "user-info"},
	{"percent-encoding", "ex%61mple.com", "percent"},
	{"encoded dot", "example%2ecom", "percent"},
	{"backslash", "example.com\\.evil.org", "backslash"},
	{"slash", "example.com/x", "not a URL"},
	{"query", "example.com?x", "not a URL"},
	{"fragment", "example.com#x", "not a URL"},
	{"port in host", "example.com:443", "IPv6"},
	{"hex IPv4", "0x7f.0.0.1", "dotted-quad"},
	{"decimal IPv4", "2130706433", "dotted-quad"},
	{"hex integer IPv4", "0x7f000001", "dotted-quad"},
	{"octal IPv4", "0177.0.0.1", "dotted-quad"},
	{"short IPv4", "127.1", "dotted-quad"},
	{"leading zero IPv4", "127.000.000.001", "dotted-quad"},
	{"five parts", "1.2.3.4.5", "dotted-quad"},
	{"out of range", "256.1.1.1", "dotted-quad"},
	{"numeric TLD", "example.123", "dotted-quad"},
	{"hex TLD", "example.0x1f", "dotted-quad"},
	{"long label", strings.Repeat("a", 64) + ".com", "label of 64"},
	{"long name", strings.Repeat("abcdefghi.", 25) + "abcd", "limit is 253"},
	{"huge name", strings.Repeat("a", 5000), "limit is 253"},
	{"empty label", "a..b", "empty label"},
	{"leading dot", ".example.com", "empty label"},
	{"two trailing dots", "example.com..", "empty label"},
	{"only dot", ".", "empty label"},
	{"leading hyphen", "-a.com", "hyphen"},
	{"trailing hyphen", "a-.com", "hyphen"},
	{"bad char", "exa*mple.com", "letters, digits"},
	{"semicolon", "example.com;evil", "letters, digits"},
	{"mixed script", "аpple.com", "mixes scripts"},                 // Cyrillic а + Latin
	{"mixed script punycode", "xn--pple-43d.com", "mixes scripts"}, // same, encoded
	{"invalid punycode", "xn--abc.com", "punycode"},
	{"empty punycode", "xn--.com", "hyphen"},
	{"ascii punycode", "xn--abc-.com", "hyphen"},
	{"symbol punycode", "xn--zz-zzzzzzz.com", "non-letter"},
	{"fullwidth letters", "ｅｘａｍｐｌｅ.com", "internationalised"},
	{"fullwidth dot", "example。com", "internationalised"},
	{"non-ASCII capital", "BÜCHER.de", "internationalised"},
	{"Kelvin sign", "\u212aexample.com", "internationalised"},
	{"invalid UTF-8", "exa\xffmple.com", "UTF-8"},
	{"unclosed bracket", "[::1", "unclosed"},
	{"bracketed name", "[example.com]", "IPv6"},
	{"IPv6 zone", "fe80::1%25eth0", "percent"},
	{"IPv6 zone raw", "[fe80::1%eth0]", "percent"},
	{"IPv4 in brackets", "[127.0.0.1]", "IPv6"},
}

func TestValidateHostRejects(t *testing.T) {
	for _, tt := range malformedHosts {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ValidateHost(tt.host)
			if err == nil {
				t.Fatalf("ValidateHost(%q) = %q, want an error", tt.host, got)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ValidateHost(%q) error %q does not mention %q", tt.host, err, tt.wantErr)
			}
			if strings.ContainsAny(err.Error(), "\r\n\x00") {
				t.Errorf("error %q contains raw control bytes", err)
			}
		})
	}
}

func TestSplitAuthority(t *testing.T) {
	tests := []struct {
		auth        string
		defaultPort int
		host        string
		port        int
		wantErr     string
	}{
		{"example.com:443", 0, "example.com", 443, ""},
		{"EXAMPLE.com.:8443", 0, "example.com", 8443, ""},
		{"example.com", 80, "example.com", 80, ""},
		{"[2001:db8::1]:443", 0, "2001:db8::1", 443, ""},
		{"[2001:db8::1]", 80, "2001:db8::1", 80, ""},
		{"example.com", 0, "", 0, "no port"},
		{"example.com:", 0, "", 0, "port"},
		{"example.com:0", 0, "", 0, "port"},
		{"example.com:0443", 0, "", 0, "port"},
		{"example.com:+443", 0, "", 0, "port"},
		{"example.com:65536", 0, "", 0, "port"},
		{"example.com:44a", 0, "", 0, "port"},
		{"user@example.com:443", 0, "", 0, "user-info"},
		{"user:pw@example.com:443", 0, "", 0, "user-info"},
		{"2001:db8::1:443", 0, "", 0, "brackets"},
		{"[2001:db8::1]x", 0, "", 0, "after"},
		{"", 0, "", 0, "no host"},
	}
	for _, tt := range tests {
		host, port, err := splitAuthority(tt.auth, tt.defaultPort)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("splitAuthority(%q) = %q, %d, %v; want error mentioning %q", tt.auth, host, port, err, tt.wantErr)
			}
			continue
		}
		if err != nil || host != tt.host || port != tt.port {
			t.Errorf("splitAuthority(%q) = %q, %d, %v; want %q, %d", tt.auth, host, port, err, tt.host, tt.port)
		}
	}
}

func TestPatterns(t *testing.T) {
	tests := []struct {
		pattern string
		host    string
		port    int
		want    bool
	}{
		{"proxy.golang.org", "proxy.golang.org", 443, true},
		{"proxy.golang.org", "proxy.golang.org", 80, true},
		{"proxy.golang.org", "proxy.golang.org", 8443, false},
		{"proxy.golang.org", "sum.golang.org", 443, false},
		{"proxy.golang.org", "evil.proxy.golang.org", 443, false},
		{"Proxy.Golang.ORG.", "proxy.golang.org", 443, true},
		{"*.github.com", "api.github.com", 443, true},
		{"*.github.com", "a.b.github.com", 443, true},
		{"*.github.com", "github.com", 443, false},
		{"*.github.com", "evilgithub.com", 443, false},
		{"*.github.com", "github.com.evil.org", 443, false},
		{"*.github.com", "api.github.com", 22, false},
		{"*.github.com:22", "api.github.com", 22, true},
		{"*.github.com:22", "api.github.com", 443, false},
		{"example.com:8080", "example.com", 8080, true},
		{"example.com:8080", "example.com", 443, false},
		{"bücher.de", "xn--bcher-kva.de", 443, true},
		{"93.184.216.34", "93.184.216.34", 443, true},
		{"93.184.216.34", "93.184.216.35", 443, false},
		{"[2001:db8::1]:8443", "2001:db8::1", 8443, true},
		{"2001:db8::1", "2001:db8::1", 443, true},
	}
	for _, tt := range tests {
		p, err := parsePattern(tt.pattern)
		if err != nil {
			t.Errorf("parsePattern(%q): %v", tt.pattern, err)
			continue
		}
		_, ipErr := netip.ParseAddr(tt.host)
		if got := p.match(tt.host, tt.port, ipErr == nil); got != tt.want {
			t.Errorf("pattern %q match(%q, %d) = %v, want %v", tt.pattern, tt.host, tt.port, got, tt.want)
		}
	}
}

func TestValidatePatternRejects(t *testing.T) {
	tests := []struct{ pattern, wantErr string }{
		{"*", "wildcard"},
		{"*.com", "two labels"},
		{"a.*.com", "wildcard"},
		{"*example.com", "wildcard"},
		{"*.1.2.3.4", "IP"},
		{"example.com:0", "port"},
		{"example.com:http", "port"},
		{"user@example.com", "user-info"},
		{"0x7f.0.0.1", "dotted-quad"},
		{"", "empty"},
		{"[::1", "unclosed"},
	}
	for _, tt := range tests {
		err := ValidatePattern(tt.pattern)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "allow pattern") {
			t.Errorf("ValidatePattern(%q) = %v; want an error naming the pattern and mentioning %q", tt.pattern, err, tt.wantErr)
		}
	}
}

func TestForbiddenAddr(t *testing.T) {
	tests := []struct {
		addr     string
		loopback bool // AllowPrivate
		want     string
	}{
		{"93.184.216.34", false, ""},
		{"8.8.8.8", false, ""},
		{"2606:4700::1111", false, ""},
		{"64:ff9b::808:808", false, ""}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", false, ""},  // 6to4 of 8.8.8.8
		{"127.0.0.1", false, "loopback"},
		{"127.255.255.254", false, "loopback"},
		{"::1", false, "loopback"},
		{"::ffff:127.0.0.1", false, "loopback"},
		{"0.0.0.0", false, "unspecified"},
		{"::", false, "unspecified"},
		{"10.1.2.3", false, "private"},
		{"172.16.0.1", false, "private"},
		{"172.31.255.255", false, "private"},
		{"192.168.1.1", false, "private"},
		{"::ffff:10.0.0.1", false, "private"},
		{"fc00::1", false, "private"},
		{"fd12:3456::1", false, "private"},
		{"100.64.0.1", false, "carrier-grade"},
		{"100.127.255.255", false, "carrier-grade"},
		{"169.254.1.1", false, "link-local"},
		{"fe80::1", false, "link-local"},
		{"169.254.169.254", false, "metadata"},
		{"::ffff:169.254.169.254", false, "metadata"},
		{"fd00:ec2::254", false, "metadata"},
		{"100.100.100.200", false, "metadata"},
		{"224.0.0.1", false, "multicast"},
		{"ff02::1", false, "multicast"},
		{"255.255.255.255", false, "broadcast"},
		{"240.0.0.1", false, "reserved"},
		{"::7f00:1", false, "IPv4-compatible"},
		{"64:ff9b::7f00:1", false, "NAT64"},
		{"64:ff9b::a9fe:a9fe", false, "NAT64"},
		{"2002:7f00:1::1", false, "6to4"},
		{"2002:c0a8:101::1", false, "6to4"},
		{"2001:0:4136:e378::1", false, "Teredo"},
		{"2001:db8::1", false, "reserved"},
		{"fec0::1", false, "site-local"},
		{"4000::1", false, "not global"},
		{"127.0.0.1", true, ""},
		{"::1", true, ""},
		{"::ffff:127.0.0.1", true, ""},
		{"10.0.0.1", true, "private"},
		{"169.254.169.254", true, "metadata"},
	}
	for _, tt := range tests {
		got := forbiddenAddr(netip.MustParseAddr(tt.addr), tt.loopback)
		if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("forbiddenAddr(%s, loopback=%v) = %q, want %q", tt.addr, tt.loopback, got, tt.want)
		}
	}
}
