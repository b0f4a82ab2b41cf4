// Package credurl finds the credentials written into a URL ("http://user:password@host"), the
// same way wherever am-lsp reads one, so that a password is never taken for part of the host,
// path or fragment and shown or sent as such.
//
// The userinfo is everything between "://" (or the start of the text, when there is no scheme)
// and the last "@": a password may hold "/", "?", "#", ":" or "@" unencoded, as users write them.
// Percent-escapes in it are decoded.
package credurl

import (
	"errors"
	"net/url"
	"strings"
)

// Split returns raw without its userinfo, and the user name and password of that userinfo (ok
// false, user and pass empty, when raw has none). raw is trimmed of surrounding space.
//
// err is ErrAmbiguous when the text before the last "@" holds a "/", "?" or "#" and what
// precedes that character reads as a host (and port) by itself: "http://prom:9090/x@h2" may be
// the path "/x@h2" on prom:9090 just as well as user "prom" with password "9090/x" on h2, and
// guessing wrong would send credentials to another host. stripped is then raw without
// everything up to the last "@" (safe to show), user and pass are empty.
func Split(raw string) (stripped, user, pass string, ok bool, err error) {
	s := strings.TrimSpace(raw)
	start := 0
	if i := strings.Index(s, "://"); i >= 0 {
		start = i + 3
	}
	at := strings.LastIndex(s[start:], "@")
	if at < 0 {
		return s, "", "", false, nil
	}
	info := s[start : start+at]
	stripped = s[:start] + s[start+at+1:]
	if i := strings.IndexAny(info, "/?#"); i >= 0 && isHostPort(info[:i]) {
		return stripped, "", "", false, ErrAmbiguous
	}
	user, pass, _ = strings.Cut(info, ":")
	return stripped, unescape(user), unescape(pass), true, nil
}

// ErrAmbiguous is Split's error for a URL whose credentials cannot be told from its path. It
// quotes no part of the URL.
var ErrAmbiguous = errors.New(`the part before the last "@" could be a host and path as well as a user and password: ` +
	`percent-encode the "@" in a path as %40, or a "/", "?" or "#" in a password as %2F, %3F or %23`)

// isHostPort reports whether s reads as a host name or IP address, with an optional numeric port.
func isHostPort(s string) bool {
	host := s
	if h, port, found := strings.Cut(s, ":"); found && !strings.HasPrefix(s, "[") {
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return false
		}
		host = h
	}
	if strings.HasPrefix(host, "[") { // [IPv6] or [IPv6]:port
		end := strings.Index(host, "]")
		return end > 0 && (end == len(host)-1 || (host[end+1] == ':' && strings.Trim(host[end+2:], "0123456789") == ""))
	}
	return host != "" && strings.Trim(strings.ToLower(host), "abcdefghijklmnopqrstuvwxyz0123456789.-_") == ""
}

// Redact returns raw without its userinfo, for messages, logs and links.
// Whatever the reading, everything up to the last "@" is dropped.
func Redact(raw string) string {
	s, _, _, _, _ := Split(raw)
	return s
}

// unescape decodes percent-escapes; text that is not validly escaped is taken as it is.
func unescape(s string) string {
	if d, err := url.PathUnescape(s); err == nil {
		return d
	}
	return s
}
