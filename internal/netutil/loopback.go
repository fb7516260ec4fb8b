package netutil

import (
	"net"
	"strings"
)

// IsLoopback reports whether host, the host of a URL without its port (as
// url.URL.Hostname returns it), is "localhost" in any case or a loopback IP
// literal (127.0.0.0/8, ::1, or an IPv4-mapped IPv6 loopback address). It
// does no DNS lookup: a name other than localhost is not loopback, even if
// it resolves to 127.0.0.1. Sources and clients allow plain http only to
// such a host, where no network carries the request.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
