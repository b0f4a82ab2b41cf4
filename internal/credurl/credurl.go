// Package credurl finds the credentials written into a URL ("http://user:password@host"), the
// same way wherever am-lsp reads one, so that a password is never taken for part of the host,
// path or fragment and shown or sent as such.
//
// The userinfo is everything between "://" (or the start of the text, when there is no scheme)
// and the last "@": a password may hold "/", "?", "#", ":" or "@" unencoded, as users write them.
// Percent-escapes in it are decoded.
package credurl

import (
	"net/url"
	"strings"
)

// Split returns raw without its userinfo, and the user name and password of that userinfo (ok
// false, user and pass empty, when raw has none). raw is trimmed of surrounding space.
func Split(raw string) (stripped, user, pass string, ok bool) {
	s := strings.TrimSpace(raw)
	start := 0
	if i := strings.Index(s, "://"); i >= 0 {
		start = i + 3
	}
	at := strings.LastIndex(s[start:], "@")
	if at < 0 {
		return s, "", "", false
	}
	user, pass, _ = strings.Cut(s[start:start+at], ":")
	return s[:start] + s[start+at+1:], unescape(user), unescape(pass), true
}

// Redact returns raw without its userinfo, for messages, logs and links.
func Redact(raw string) string {
	s, _, _, _ := Split(raw)
	return s
}

// unescape decodes percent-escapes; text that is not validly escaped is taken as it is.
func unescape(s string) string {
	if d, err := url.PathUnescape(s); err == nil {
		return d
	}
	return s
}
