package attack

import "strings"

// Small text helpers shared by the detectors. They work on lv, the
// lower-cased value, so keywords are written in lower case.

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// skipSpace skips white space and, when comments is set, SQL/C comments,
// which attackers use as white space ("UNION/**/SELECT").
func skipSpace(s string, i int, comments bool) int {
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == 0:
			i++
		case comments && c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return len(s)
			}
			if i+2 < len(s) && s[i+2] == '!' {
				// MySQL executable comment: its content is code.
				i += 3
				for i < len(s) && s[i] >= '0' && s[i] <= '9' {
					i++
				}
				continue
			}
			i += end + 4
		case comments && c == '*' && i+1 < len(s) && s[i+1] == '/':
			i += 2 // end of an executable comment
		default:
			return i
		}
	}
	return i
}

// containsAny returns the index of the first of subs found in s, or -1.
func containsAny(s string, subs ...string) int {
	for _, w := range subs {
		if i := strings.Index(s, w); i >= 0 {
			return i
		}
	}
	return -1
}

// trimLeftSpaceCtl trims spaces and control bytes, which browsers ignore at
// the start of URLs ("\x01javascript:").
func trimLeftSpaceCtl(s string) (string, int) {
	i := 0
	for i < len(s) && s[i] <= ' ' {
		i++
	}
	return s[i:], i
}

// squeeze removes the bytes browsers ignore inside a URL scheme (tab, CR,
// LF) and, for obfuscation-tolerant checks, NUL.
func squeeze(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= '\r' && (c == '\t' || c == '\r' || c == '\n' || c == 0) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\t', '\r', '\n', 0:
		default:
			b = append(b, s[i])
		}
	}
	return string(b)
}
