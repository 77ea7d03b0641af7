package netproxy

import (
	"net/netip"
	"strings"
)

// metadataAddrs are cloud instance-metadata endpoints. They are refused even
// when AllowPrivate is set.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"), // AWS, GCP, Azure, OpenStack, Oracle
	netip.MustParseAddr("169.254.170.2"),   // AWS ECS task metadata
	netip.MustParseAddr("fd00:ec2::254"),   // AWS IPv6
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
}

// metadataNames are host names of metadata services, refused by name before
// any lookup.
var metadataNames = []string{
	"metadata",
	"metadata.google.internal",
	"metadata.goog",
	"instance-data",
	"instance-data.ec2.internal",
}

type netRange struct {
	prefix netip.Prefix
	reason string
}

func mustRanges(reason string, cidrs ...string) []netRange {
	out := make([]netRange, len(cidrs))
	for i, c := range cidrs {
		out[i] = netRange{netip.MustParsePrefix(c), reason}
	}
	return out
}

// forbiddenRanges lists the special-purpose address blocks the proxy never
// connects to. IPv4-mapped IPv6 addresses are unmapped before the check;
// IPv6 addresses that embed an IPv4 address (NAT64, 6to4) are checked on the
// embedded address.
var forbiddenRanges = concatRanges(
	mustRanges("unspecified or \"this network\"", "0.0.0.0/8", "::/128"),
	mustRanges("loopback", "127.0.0.0/8", "::1/128"),
	mustRanges("private", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"),
	mustRanges("carrier-grade NAT", "100.64.0.0/10"),
	mustRanges("link-local", "169.254.0.0/16", "fe80::/10"),
	mustRanges("site-local", "fec0::/10"),
	mustRanges("multicast", "224.0.0.0/4", "ff00::/8"),
	mustRanges("broadcast", "255.255.255.255/32"),
	mustRanges("reserved", "240.0.0.0/4", "192.0.0.0/24", "198.18.0.0/15",
		"192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "192.88.99.0/24",
		"2001:db8::/32", "2001:2::/48", "2001:10::/28", "2001:20::/28", "100::/64"),
	mustRanges("IPv4-compatible or translated IPv6", "::/96", "::ffff:0:0:0/96"),
	mustRanges("Teredo tunnel", "2001::/32"),
	mustRanges("local NAT64", "64:ff9b:1::/48"),
)

func concatRanges(groups ...[]netRange) []netRange {
	var out []netRange
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
	globalV6    = netip.MustParsePrefix("2000::/3")
)

// forbiddenAddr reports why the proxy must not connect to a, or "" if it
// may. allowLoopback admits loopback addresses (tests only).
func forbiddenAddr(a netip.Addr, allowLoopback bool) string {
	if !a.IsValid() {
		return "invalid address"
	}
	if a.Zone() != "" {
		return "scoped (zoned) address"
	}
	a = a.Unmap()
	for _, m := range metadataAddrs {
		if a == m {
			return "cloud metadata endpoint"
		}
	}
	if allowLoopback && a.IsLoopback() {
		return ""
	}
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64Prefix.Contains(a):
			if r := forbiddenAddr(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), false); r != "" {
				return "NAT64 address embedding a " + r + " IPv4 address"
			}
			return ""
		case sixToFour.Contains(a):
			if r := forbiddenAddr(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), false); r != "" {
				return "6to4 address embedding a " + r + " IPv4 address"
			}
		}
	}
	for _, r := range forbiddenRanges {
		if r.prefix.Contains(a) {
			return r.reason
		}
	}
	if a.Is6() && !globalV6.Contains(a) {
		return "not global unicast"
	}
	return ""
}

// forbiddenName reports why a normalised host name is refused before any
// lookup, or "".
func forbiddenName(host string, allowLoopback bool) string {
	for _, m := range metadataNames {
		if host == m {
			return "cloud metadata endpoint"
		}
	}
	if !allowLoopback && (host == "localhost" || strings.HasSuffix(host, ".localhost")) {
		return "loopback"
	}
	return ""
}
