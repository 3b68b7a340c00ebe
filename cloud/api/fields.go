package api

import (
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"unicode"
)

// pathID reads the numeric {id} of a path.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest("path: id must be a positive integer")
	}
	return id, nil
}

// nameChars are the characters besides letters and digits that a name may
// hold. Quotes, semicolons, angle brackets and backslashes are left out on
// purpose: no honest name needs them, and every consumer of a name (SQL,
// HTML, shells, log parsers) is safer without them.
const nameChars = " _.-:()/@#+,"

// checkName validates a name field: 1 to max characters, trimmed, of
// letters, digits and nameChars.
func checkName(field, s string, max int) error {
	if strings.TrimSpace(s) != s {
		return badRequest("body: %s has leading or trailing spaces", field)
	}
	if s == "" {
		return badRequest("body: %s is empty", field)
	}
	if n := len([]rune(s)); n > max {
		return badRequest("body: %s is %d characters, limit %d", field, n, max)
	}
	for _, c := range s {
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) && !strings.ContainsRune(nameChars, c) {
			return badRequest("body: %s may hold only letters, digits and %q, not %q", field, nameChars, c)
		}
	}
	return nil
}

// checkText validates a free-text field: at most max bytes, printable.
func checkText(field, s string, max int) error {
	if len(s) > max {
		return badRequest("body: %s is %d bytes, limit %d", field, len(s), max)
	}
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return badRequest("body: %s holds a control character", field)
		}
	}
	return nil
}

// normalizeEmail checks an email address and returns it lower-cased.
func normalizeEmail(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || len(s) > 254 || strings.ContainsAny(s, "'\"\\;<> ") {
		return "", badRequest("body: email %s is not a plain address such as ana@example.com", strconv.Quote(clip(s, 64)))
	}
	return strings.ToLower(s), nil
}

// checkHostname validates a host name (with an optional leading "*." and
// ":port").
func checkHostname(field, s string) error {
	h := strings.TrimPrefix(s, "*.")
	if host, port, ok := strings.Cut(h, ":"); ok {
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return badRequest("body: %s %q has a bad port", field, clip(s, 64))
		}
		h = host
	}
	if h == "" || len(h) > 253 {
		return badRequest("body: %s %q is not a host name", field, clip(s, 64))
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return badRequest("body: %s %q is not a host name", field, clip(s, 64))
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return badRequest("body: %s %q is not a host name", field, clip(s, 64))
			}
		}
	}
	return nil
}

// clip shortens what is echoed back in an error.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
