package tool

import (
	"path"
	"slices"
	"sort"
	"strings"
)

// ExtractHosts returns the network hosts a shell script names, sorted and
// without duplicates: the hosts of URLs anywhere in it (any scheme but
// file:), git@host: style remotes, /dev/tcp and /dev/udp paths, and the
// targets of network commands (curl, wget, nc, ssh, scp, rsync, sftp,
// telnet, git push/fetch/pull/clone/ls-remote/remote add, socat, openssl
// s_client, and DNS and ping tools), also inside sh -c, eval and command
// substitutions. Host names are lower-cased; a host built from a variable
// is returned as written ("$HOST"), so policy can see it is not a known
// one. It over-reports rather than misses: a URL in a commit message is
// reported too.
func ExtractHosts(script string) []string {
	return extractHosts(script, SplitCommand(script))
}

// extractHosts is ExtractHosts given the script's commands.
func extractHosts(script string, cmds [][]string) []string {
	h := hostSet{}
	h.scan(script)
	for _, argv := range cmds {
		for _, t := range argv {
			if !strings.Contains(script, t) { // quotes or escapes were removed: look again
				h.scan(t)
			}
		}
		h.command(argv)
	}
	out := make([]string, 0, len(h))
	for k := range h {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type hostSet map[string]struct{}

func (h hostSet) add(host string) {
	host = strings.TrimSuffix(strings.TrimSpace(host), ".")
	if host == "" || host == "-" {
		return
	}
	if !strings.ContainsAny(host, "$`") {
		host = strings.ToLower(host)
	}
	h[host] = struct{}{}
}

// scan adds the hosts of URLs, scp-style remotes and /dev/tcp paths in
// text.
func (h hostSet) scan(text string) {
	// scheme://authority, any scheme but file.
	for off := 0; ; {
		i := strings.Index(text[off:], "://")
		if i < 0 {
			break
		}
		i += off
		j := i
		for j > 0 && isSchemeChar(text[j-1]) {
			j--
		}
		for j < i && !isLetter(text[j]) {
			j++
		}
		end := i + 3
		for end < len(text) && !strings.ContainsRune(" \t\r\n/?#'\"`<>|;&()\\", rune(text[end])) {
			end++
		}
		if j < i && !strings.EqualFold(text[j:i], "file") {
			h.add(authorityHost(text[i+3 : end]))
		}
		off = i + 3
	}
	// user@host: as git and scp write remotes.
	for off := 0; ; {
		i := strings.IndexByte(text[off:], '@')
		if i < 0 {
			break
		}
		i += off
		off = i + 1
		u := i
		for u > 0 && isUserChar(text[u-1]) {
			u--
		}
		if u == i || (u > 0 && !strings.ContainsRune(" \t\r\n'\"=:", rune(text[u-1]))) {
			continue
		}
		e := i + 1
		if e < len(text) && text[e] == '[' {
			for e < len(text) && text[e] != ']' {
				e++
			}
			e++
		} else {
			for e < len(text) && (isUserChar(text[e]) && text[e] != '_' || text[e] == '$') {
				e++
			}
		}
		if e > i+1 && e < len(text) && text[e] == ':' {
			h.add(strings.Trim(text[i+1:e], "[]"))
		}
	}
	// bash's /dev/tcp/HOST/PORT and /dev/udp/HOST/PORT.
	for _, dev := range []string{"/dev/tcp/", "/dev/udp/"} {
		for off := 0; ; {
			i := strings.Index(text[off:], dev)
			if i < 0 {
				break
			}
			i += off + len(dev)
			off = i
			e := i
			for e < len(text) && !strings.ContainsRune("/ \t\r\n'\"", rune(text[e])) {
				e++
			}
			if e < len(text) && text[e] == '/' {
				h.add(text[i:e])
			}
		}
	}
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func isSchemeChar(c byte) bool {
	return isLetter(c) || (c >= '0' && c <= '9') || c == '+' || c == '.' || c == '-'
}

func isUserChar(c byte) bool {
	return isLetter(c) || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'
}

// authorityHost is the host of a URL authority: user info and port
// removed, IPv6 brackets stripped.
func authorityHost(auth string) string {
	if i := strings.LastIndexByte(auth, '@'); i >= 0 {
		auth = auth[i+1:]
	}
	if strings.HasPrefix(auth, "[") {
		if j := strings.IndexByte(auth, ']'); j > 0 {
			return auth[1:j]
		}
		return strings.TrimPrefix(auth, "[")
	}
	if j := strings.IndexByte(auth, ':'); j >= 0 {
		auth = auth[:j]
	}
	return auth
}

// argHost is the host of a command argument that names one: a URL, or
// [user@]host[:port][/path].
func argHost(t string) string {
	if i := strings.Index(t, "://"); i >= 0 {
		t = t[i+3:]
	}
	if j := strings.IndexAny(t, "/?#"); j >= 0 {
		t = t[:j]
	}
	return authorityHost(t)
}

// netCommand describes where a network command's host arguments are.
type netCommand struct {
	short     string   // short options taking a value
	long      []string // long options taking a value
	hostShort string   // short options whose value is a host
	hostLong  []string // long options whose value is a host
	operands  int      // how many leading operands are hosts; -1 all
}

var netCommands = map[string]netCommand{
	"curl": {
		short: "AbcCdDeEFHKmoPQrTtuUwxXyYz",
		long: []string{"--output", "--data", "--data-raw", "--data-binary", "--data-urlencode", "--data-ascii", "--header",
			"--request", "--user", "--user-agent", "--referer", "--upload-file", "--form", "--form-string", "--cookie",
			"--cookie-jar", "--config", "--max-time", "--connect-timeout", "--range", "--write-out", "--proxy-user",
			"--cert", "--key", "--cacert", "--capath", "--retry", "--retry-delay", "--retry-max-time", "--limit-rate",
			"--max-filesize", "--interface", "--output-dir", "--json", "--oauth2-bearer", "--unix-socket",
			"--abstract-unix-socket", "--local-port", "--trace", "--trace-ascii", "--stderr", "--keepalive-time",
			"--expect100-timeout", "--speed-limit", "--speed-time", "--time-cond", "--ciphers", "--pinnedpubkey",
			"--noproxy", "--proxy-header", "--variable", "--alt-svc", "--hsts", "--etag-save", "--etag-compare",
			"--aws-sigv4", "--quote", "--mail-from", "--mail-rcpt", "--login-options", "--netrc-file", "--dump-header",
			"--continue-at", "--dns-servers"},
		hostShort: "x",
		hostLong:  []string{"--proxy", "--preproxy", "--socks4", "--socks4a", "--socks5", "--socks5-hostname", "--doh-url", "--url", "--connect-to", "--resolve"},
		operands:  -1,
	},
	"wget": {
		short: "OoaeiBtTwPUQlARDIX",
		long: []string{"--output-document", "--output-file", "--append-output", "--execute", "--input-file", "--base",
			"--tries", "--timeout", "--wait", "--directory-prefix", "--user-agent", "--quota", "--level", "--accept",
			"--reject", "--domains", "--include-directories", "--exclude-directories", "--header", "--post-data",
			"--post-file", "--user", "--password", "--http-user", "--http-password", "--load-cookies", "--save-cookies",
			"--referer", "--limit-rate", "--bind-address", "--ca-certificate", "--certificate", "--private-key",
			"--method", "--body-data", "--body-file"},
		operands: -1,
	},
	"nc":         {short: "psiqwXOITVPWceo", hostShort: "x", operands: 1},
	"ncat":       {short: "psiqwXOITVPWceo", hostShort: "x", long: []string{"--exec", "--sh-exec", "--source-port", "--wait"}, hostLong: []string{"--proxy"}, operands: 1},
	"netcat":     {short: "psiqwXOITVPWceo", hostShort: "x", operands: 1},
	"telnet":     {short: "bleln", operands: 1},
	"ssh":        {short: "bcDEeFIiLlmOopQRSWwB", hostShort: "J", operands: 1},
	"sftp":       {short: "BbcDFiloPRSs", hostShort: "J", operands: 1},
	"ftp":        {operands: 1},
	"dig":        {short: "bcfkmpqtxy", operands: -1},
	"host":       {short: "cNRtWm", operands: -1},
	"nslookup":   {operands: -1},
	"drill":      {short: "ckpqstx", operands: -1},
	"ping":       {short: "cisIWwtlmMpQSTF", operands: -1},
	"ping6":      {short: "cisIWwtlmMpQSTF", operands: -1},
	"traceroute": {short: "fFgimNpstwqz", operands: 1},
	"tracepath":  {short: "lmp", operands: 1},
	"mtr":        {short: "acfimpsQBoPGY", operands: 1},
	"whois":      {short: "hpiTgs", operands: -1},
}

// dnsWords are dig and host arguments that are not names.
var dnsWords = map[string]bool{
	"a": true, "aaaa": true, "any": true, "axfr": true, "caa": true, "cname": true, "dnskey": true, "ds": true,
	"mx": true, "ns": true, "ptr": true, "soa": true, "srv": true, "txt": true, "in": true, "ch": true, "hs": true,
	"https": true, "svcb": true, "naptr": true, "ixfr": true, "spf": true,
}

// command adds the hosts one simple command targets.
func (h hostSet) command(argv []string) {
	if len(argv) == 0 {
		return
	}
	name := path.Base(argv[0])
	args := dropRedirs(argv[1:])
	switch name {
	case "git":
		h.git(args)
		return
	case "scp", "rsync":
		for _, a := range args {
			if strings.HasPrefix(a, "-") || strings.HasPrefix(a, "/") || strings.HasPrefix(a, ".") {
				continue
			}
			if i := strings.IndexByte(a, ':'); i > 0 && !strings.Contains(a[:i], "/") {
				h.add(argHost(a[:i]))
			}
		}
		return
	case "socat":
		for _, a := range args {
			h.socat(a)
		}
		return
	case "openssl":
		for i, a := range args {
			if (a == "-connect" || a == "-proxy") && i+1 < len(args) {
				h.add(argHost(args[i+1]))
			}
		}
		return
	}
	nc, ok := netCommands[name]
	if !ok {
		return
	}
	var operands []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			operands = append(operands, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "--"):
			opt, val, hasVal := strings.Cut(a, "=")
			isHost := slices.Contains(nc.hostLong, opt)
			if !hasVal && (isHost || slices.Contains(nc.long, opt)) && i+1 < len(args) {
				i++
				val, hasVal = args[i], true
			}
			if isHost && hasVal {
				h.optionHost(opt, val)
			}
		case len(a) > 1 && a[0] == '-':
			for j := 1; j < len(a); j++ {
				c := a[j]
				host := strings.IndexByte(nc.hostShort, c) >= 0
				if !host && strings.IndexByte(nc.short, c) < 0 {
					continue
				}
				val := a[j+1:]
				if val == "" && i+1 < len(args) {
					i++
					val = args[i]
				}
				if host {
					for _, v := range strings.Split(val, ",") {
						h.add(argHost(v))
					}
				}
				break
			}
		case name == "dig" && strings.HasPrefix(a, "@"):
			h.add(argHost(a[1:]))
		case strings.HasPrefix(a, "+"):
		default:
			operands = append(operands, a)
		}
	}
	n := 0
	for _, a := range operands {
		if nc.operands >= 0 && n >= nc.operands {
			break
		}
		n++
		if isDigits(a) && name != "ping" && name != "ping6" {
			continue // a port
		}
		if (name == "dig" || name == "host") && dnsWords[strings.ToLower(a)] {
			continue
		}
		h.add(argHost(a))
	}
}

// optionHost adds the host in a curl option value.
func (h hostSet) optionHost(opt, val string) {
	switch opt {
	case "--connect-to": // HOST1:PORT1:HOST2:PORT2
		parts := strings.Split(val, ":")
		if len(parts) >= 3 {
			h.add(parts[2])
		}
		h.add(parts[0])
	case "--resolve": // HOST:PORT:ADDR
		h.add(strings.Split(val, ":")[0])
	default:
		h.add(argHost(val))
	}
}

// socat adds the host of a socat address such as TCP:host:port.
func (h hostSet) socat(a string) {
	parts := strings.Split(a, ":")
	if len(parts) < 3 {
		return
	}
	kind := strings.ToUpper(parts[0])
	if strings.Contains(kind, "LISTEN") {
		return
	}
	switch {
	case strings.HasPrefix(kind, "TCP"), strings.HasPrefix(kind, "UDP"), strings.HasPrefix(kind, "SCTP"),
		strings.HasPrefix(kind, "OPENSSL"), strings.HasPrefix(kind, "SSL"), strings.HasPrefix(kind, "DTLS"):
		h.add(parts[1])
	case strings.HasPrefix(kind, "PROXY") || strings.HasPrefix(kind, "SOCKS"):
		h.add(parts[1])
		h.add(parts[2])
	}
}

// git adds the remote hosts of git commands that talk to a remote. A
// named remote (origin) has no host here: its URL lives in config.
func (h hostSet) git(args []string) {
	i := 0
	for i < len(args) {
		a := args[i]
		if slices.Contains([]string{"-C", "-c", "--git-dir", "--work-tree", "--namespace"}, a) {
			i += 2
			continue
		}
		if strings.HasPrefix(a, "-") {
			i++
			continue
		}
		break
	}
	if i >= len(args) {
		return
	}
	sub, rest := args[i], args[i+1:]
	var operands []string
	valueOpts := []string{"--repo", "-o", "--push-option", "-b", "--branch", "--origin", "--depth", "--reference",
		"--config", "-u", "--upload-pack", "--receive-pack", "--template", "--separate-git-dir", "-j", "--jobs",
		"--filter", "--exec", "--shallow-since", "--shallow-exclude", "-t", "--track", "-m", "--server-option"}
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		switch {
		case a == "--":
			operands = append(operands, rest[j+1:]...)
			j = len(rest)
		case strings.HasPrefix(a, "--repo="):
			h.remote(strings.TrimPrefix(a, "--repo="))
		case a == "--repo" && j+1 < len(rest):
			j++
			h.remote(rest[j])
		case slices.Contains(valueOpts, a):
			j++
		case strings.HasPrefix(a, "-"):
		default:
			operands = append(operands, a)
		}
	}
	switch sub {
	case "push", "fetch", "pull", "clone", "ls-remote", "archive":
		if len(operands) > 0 {
			h.remote(operands[0])
		}
	case "remote":
		if len(operands) >= 3 && (operands[0] == "add" || operands[0] == "set-url") {
			h.remote(operands[len(operands)-1])
		}
	case "submodule":
		if len(operands) >= 2 && operands[0] == "add" {
			h.remote(operands[1])
		}
	}
}

// remote adds the host of a git remote given as a URL or user@host:path;
// remote names and local paths have none.
func (h hostSet) remote(r string) {
	if strings.Contains(r, "://") {
		if !strings.HasPrefix(strings.ToLower(r), "file://") {
			h.add(argHost(r))
		}
		return
	}
	if strings.HasPrefix(r, "/") || strings.HasPrefix(r, ".") {
		return
	}
	if i := strings.IndexByte(r, ':'); i > 0 && !strings.Contains(r[:i], "/") {
		h.add(argHost(r[:i]))
	}
}
