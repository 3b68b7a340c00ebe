package attack

import (
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Path traversal and local file inclusion: "../" climbing out of a
// directory, or a value naming a file only an attacker wants (the files of
// the OS, of the web server, secrets), or a stream wrapper that reads one.

func checkDotDot(v, lv string, f Features, c *Context) (int, int, bool) {
	if f&fHigh != 0 {
		lv = foldWideSeparators(lv)
		f |= features(lv)
	}
	if f&fDot == 0 || f&(fSlash|fBackslash|fSemi) == 0 {
		return 0, 0, false
	}
	s := lv
	if f&fBackslash != 0 {
		s = strings.ReplaceAll(s, `\`, "/")
	}
	if i := tomcatClimb(s); i >= 0 {
		return i, len(v), true
	}
	// n is the longest run of climbs in one path ("../../" is two):
	// prose names several one-level paths ("move to ../dirmngr/"), an
	// attack climbs out in one.
	first, n, run, next := -1, 0, 0, -1
	for i := 0; i+2 < len(s); i++ {
		if s[i] != '.' || s[i+1] != '.' {
			continue
		}
		j := i + 2
		for j < len(s) && s[j] == '.' { // "..../" filter bypass
			j++
		}
		if j-i == 3 && (i == 0 || s[i-1] == ' ') || j >= len(s) || s[j] != '/' || !(i == 0 || s[i-1] == '/' || s[i-1] == '=' || s[i-1] == ' ' || s[i-1] == '"' || s[i-1] == '\'' || s[i-1] == ':' || s[i-1] == 0) {
			// ".../name" is an elided path in a listing ("git diff
			// --stat"). The dots inside a run fare no better than its
			// first: skipped, or a long run is quadratic.
			i = j - 1
			continue
		}
		if first < 0 {
			first = i
		}
		if i == next {
			run++
		} else {
			run = 1
		}
		n = max(n, run)
		for j < len(s) && s[j] == '/' {
			j++
		}
		next = j
		i = j - 1
	}
	if n == 0 {
		// "/.." at the very end of a path climbs too.
		if c.Where == InPath && (strings.HasSuffix(s, "/..") || s == "..") {
			return len(s) - 2, len(v), true
		}
		return 0, 0, false
	}
	switch {
	case n >= 2, c.Where == InPath:
		return first, len(v), true
	case first == 0 && !staticAsset(s):
		return first, len(v), true
	}
	return 0, 0, false
}

// tomcatClimb returns where s climbs with a path parameter on the "..":
// Tomcat and Jetty drop ";params" from a segment before they resolve it,
// so "..;/" and "/..;a=1/" are "../". -1 when it does not.
func tomcatClimb(s string) int {
	for from := 0; ; {
		k := strings.Index(s[from:], "..;")
		if k < 0 {
			return -1
		}
		i := from + k
		from = i + 3
		if strings.HasPrefix(s[from:], "/") {
			return i
		}
		if i > 0 && s[i-1] != '/' {
			continue
		}
		// A parameter: name=value characters up to the next '/'.
		j := from
		for j < len(s) && j-from < 64 && s[j] != '/' && s[j] > ' ' && s[j] != '.' {
			j++
		}
		if j > from && j < len(s) && s[j] == '/' {
			return i
		}
	}
}

// staticAsset reports whether s, a relative path that climbs one level, is
// an image, a stylesheet, a script or a font: "../images/logo.png" in a
// page an editor saves is how sites link their own assets.
func staticAsset(s string) bool {
	if strings.ContainsAny(s, "?#%\x00 ") || strings.Contains(s[3:], "..") {
		return false
	}
	dot := strings.LastIndexByte(s, '.')
	if dot < 0 || strings.IndexByte(s[dot:], '/') >= 0 {
		return false
	}
	switch s[dot+1:] {
	case "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "css", "js", "woff", "woff2", "ttf", "eot", "mp4", "webm", "mp3":
		return true
	}
	return false
}

// sensitiveFiles are paths (lower case, '/' separators) worth reading to an
// attacker. Each matches anywhere in the value.
var sensitiveFiles = []string{
	"etc/passwd", "etc/shadow", "etc/group", "etc/hosts", "etc/issue", "etc/hostname", "etc/sudoers", "etc/subuid", "etc/subgid",
	"etc/crontab", "etc/fstab", "etc/motd", "etc/resolv.conf", "etc/mysql/", "etc/httpd/", "etc/apache2/",
	"etc/nginx/", "etc/ssh/", "etc/security/", "etc/master.passwd", "etc/pam.d", "etc/profile", "etc/environment",
	"proc/self/", "proc/version", "proc/cpuinfo", "proc/net/", "proc/1/", "proc/interrupts", "proc/meminfo",
	"proc/mounts", "proc/partitions", "proc/sched_debug", "sys/class/", "sys/kernel/", "var/log/", "var/run/secrets",
	"root/.", ".ssh/id_", ".ssh/authorized_keys", ".bash_history", ".aws/credentials", ".docker/config",
	"boot.ini", "win.ini", "system.ini", "windows/system32", "winnt/system32", "windows/repair",
	"inetpub/", "web-inf/web.xml", "meta-inf/", "wp-config.php", "config/database.yml", ".htpasswd",
	".env", "usr/local/apache", "/.git/", "autoexec.bat", "sam", "ntuser.dat", "php.ini", "my.cnf",
	"/etc/", "c:/windows/", "c:/boot", "applicationhost.config", "/dev/null", "/dev/random",
	"/proc/", "httpd.conf", "access_log", "error_log", ".bash_profile", ".bashrc", ".cshrc", ".sh_history",
	".zsh_history", ".mysql_history", ".psql_history", "web.config", "desktop.ini", ".htaccess", "boot/grub/",
	"var/adm/", "xferlog", "pure-ftpd.conf", "metabase.xml", "%systemroot%/", "%windir%/", "repair/sam",
	"logs/access.log", "logs/error.log",
}

// sensitiveSegments are the path segments every sensitiveFiles entry
// contains one of; looking them up first keeps the common case (no such
// segment) to one pass over the value.
var sensitiveSegments = map[string]bool{
	"etc": true, "proc": true, "var": true, "root": true, ".ssh": true, ".aws": true, ".docker": true,
	"boot.ini": true, "win.ini": true, "system.ini": true, "windows": true, "winnt": true, "inetpub": true,
	"web-inf": true, "meta-inf": true, "wp-config.php": true, ".htpasswd": true, ".env": true, "usr": true,
	"dev": true, ".bash_history": true, "autoexec.bat": true, "ntuser.dat": true, "php.ini": true,
	"my.cnf": true, "applicationhost.config": true, "config": true, ".git": true, "c:": true, "sam": true,
	"system32": true, "sys": true, "httpd.conf": true, "access_log": true, "error_log": true,
	".bash_profile": true, ".bashrc": true, ".cshrc": true, ".sh_history": true, ".zsh_history": true,
	".mysql_history": true, ".psql_history": true, "web.config": true, "desktop.ini": true, ".htaccess": true,
	"boot": true, "xferlog": true, "pure-ftpd.conf": true, "metabase.xml": true, "%systemroot%": true,
	"%windir%": true, "repair": true, "logs": true,
}

// sensitiveSegmentStart and sensitiveSegmentEnd hold the first and the
// last two bytes of every sensitiveSegments key, so that most words skip
// the map lookup.
var sensitiveSegmentStart, sensitiveSegmentEnd = func() (start, end bigrams) {
	for k := range sensitiveSegments {
		start.add(k[0], k[1])
		end.add(k[len(k)-2], k[len(k)-1])
	}
	return start, end
}()

func hasSensitiveSegment(s string) bool {
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '/' || s[i] == ' ' || s[i] == '=' || s[i] == '"' || s[i] == '\'' {
			if i-start >= 2 && i-start <= 22 && sensitiveSegmentStart.has(s[start], s[start+1]) && sensitiveSegmentEnd.has(s[i-2], s[i-1]) && sensitiveSegments[s[start:i]] {
				return true
			}
			start = i + 1
		}
	}
	return false
}

// wrappers are stream wrappers that read or execute local files.
var wrappers = []string{"php://filter", "php://input", "php://fd", "php://memory", "php://stdin", "file://", "zip://", "phar://", "expect://", "glob://", "compress.zlib://", "jar:file:", "netdoc:"}

var wrapperSet = newSubstrings(wrappers)

func checkSensitiveFile(v, lv string, f Features, c *Context) (int, int, bool) {
	if f&(fSlash|fBackslash|fDot|fColon) == 0 {
		return 0, 0, false
	}
	if f&fColon != 0 {
		at := -1
		inText := (c.Where == InField || c.Where == InBody) && strings.Contains(lv, "file://") && sentenceWords(lv) >= 4
		wrapperSet.each(lv, func(e, i int) bool {
			if wrappers[e] == "file://" && i > 0 && inText {
				// A file URL in running text or code shown
				// ("readFileSync(new URL('file:///tmp/hello'))"): named,
				// not handed to a fetch, which takes a value that is one.
				return false
			}
			at = i
			return true
		})
		if at >= 0 {
			return at, len(v), true
		}
	}
	if c.Where == InHeader && !headerTakesFreeText(c.Header) {
		return 0, 0, false
	}
	if c.Where == InHeader && (c.Header == "referer" || c.Header == "origin") && strings.Contains(lv, "://") {
		// The site's own page URLs may name any file; a Referer that is
		// no URL but a bare path ("/proc/self/cmdline") is a probe.
		return 0, 0, false
	}
	s := lv
	if f&fBackslash != 0 {
		s = strings.ReplaceAll(s, `\`, "/")
	}
	rewritten := false
	if f&fDollar != 0 {
		// "/et${u}c/pas${te}swd": variables that expand to nothing,
		// dropped into a path a shell then reads whole.
		s, rewritten = withoutShellExpansions(s)
	}
	if f&fSlash != 0 && (f&(fQuote|fStar) != 0 || strings.IndexByte(lv, '?') >= 0) {
		if i, e, ok := disguisedPath(lv); ok {
			return i, e, true
		}
	}
	if !hasSensitiveSegment(s) {
		return 0, 0, false
	}
	for _, p := range sensitiveFiles {
		i := strings.Index(s, p)
		if i < 0 {
			continue
		}
		e := i + len(p)
		switch p {
		case "sam", "php.ini", "my.cnf", ".env", ".htpasswd", "boot.ini", "win.ini", "system.ini", "wp-config.php", "autoexec.bat", "ntuser.dat":
			// Bare file names count as a whole path component only.
			if i > 0 && s[i-1] != '/' || e < len(s) && isWordByte(s[e]) {
				continue
			}
			if p == "sam" && !strings.Contains(s, "config/sam") {
				continue
			}
			if p == ".env" && c.Where != InPath && !strings.Contains(s, "/") {
				continue
			}
		case "/etc/", "c:/windows/", "/dev/null", "/dev/random", "c:/boot":
			// A directory alone is weak: only when the whole value is a
			// path into it (the target of an include).
			if i != 0 && !(i > 0 && (s[i-1] == '=' || s[i-1] == 0)) {
				continue
			}
			if c.Where == InPath {
				continue
			}
		default:
			// A path, not a word inside another: "setc/passwd" is not it.
			if i > 0 && isWordByte(s[i-1]) && s[i-1] != '_' {
				continue
			}
			if strings.HasPrefix(p, "logs/") && (i == 0 || i == 1 && s[0] == '/') {
				continue // a site's own "logs/access.log"; the server's is under a directory
			}
			if c.Where == InPath && !strings.HasPrefix(p, "etc/") && !strings.HasPrefix(p, "proc/") && !strings.HasPrefix(p, "sys/") && !strings.HasPrefix(p, "windows/") && !strings.HasPrefix(p, "winnt/") && !strings.Contains(p, "passwd") && !strings.Contains(p, "win.ini") {
				continue // probe paths in the request path are scanner.probe's
			}
		}
		// A file named in running text ("edit /etc/hosts on Windows") is
		// prose; the target of an include is the whole value, or follows
		// a traversal.
		if f&fSpace != 0 && !strings.Contains(s[:i], "../") && strings.ContainsAny(strings.TrimSpace(s[e:]), " \t\n") && hasLetter(s[e:]) {
			continue // words after it; `") }}` after it is code's closing
		}
		// ... or ends a sentence ("the pku flag in /proc/cpuinfo.").
		if k := strings.LastIndexByte(s[:i], ' '); f&fSpace != 0 && k >= 0 && !strings.ContainsAny(s[k:i], "=:") && wordsOnly(s[:k], 2) {
			continue
		}
		if f&fSpace != 0 && i > 0 && s[i-1] != '/' && s[i-1] != ' ' && s[i-1] != '=' {
			continue
		}
		if f&fSpace != 0 && fileInSentence(s, i) {
			continue // "in my .bashrc", "Don't assume /proc/cpuinfo exists.": a word of a sentence
		}
		if rewritten {
			return 0, len(v), true
		}
		return i, e, true
	}
	return 0, 0, false
}

// fileInSentence reports whether the path or file name at s[i:] (its
// leading '/', quote or backtick before i) follows a word of a sentence
// in a value of four or more words: named, not read.
func fileInSentence(s string, i int) bool {
	j := i
	if j > 0 && s[j-1] == '/' {
		j--
	}
	if j > 0 && (s[j-1] == '`' || s[j-1] == '"' || s[j-1] == '\'') {
		j--
	}
	if j < 2 || s[j-1] != ' ' || !proseWordBefore(s[:j-1]) {
		return false
	}
	return sentenceWords(s) >= 4
}

// sentenceWords counts the words of s that are words of a sentence:
// letters, with apostrophes, punctuation and parentheses in or around
// them ("don't", "(not", "bash).", "config.guess"), two bytes or more.
func sentenceWords(s string) int {
	n := 0
	for w := range strings.FieldsSeq(s) {
		if len(w) >= 2 && hasLetter(w) && strings.Trim(w, "abcdefghijklmnopqrstuvwxyz',.;:()") == "" {
			n++
		}
	}
	return n
}

// proseWordBefore reports whether s ends with a word of letters that no
// command is named ("my", "the", "your"), so that a file name after it is
// a sentence's word, not a command's argument ("cat .bash_history").
func proseWordBefore(s string) bool {
	k := strings.LastIndexByte(s, ' ') + 1
	w := s[k:]
	if len(w) < 2 || len(w) > 12 || strings.Trim(w, "abcdefghijklmnopqrstuvwxyz") != "" {
		return false
	}
	return !strongCommands[w] && !weakCommands[w] && !adminTools[w] && !wrapperCommands[w]
}

// withoutShellExpansions returns s without the ${name} and $(name) (a
// name of letters, digits and '_', at most 16) that stand inside a word
// or a path, and the bare $name next to a path's '/', and whether there
// were any.
func withoutShellExpansions(s string) (string, bool) {
	var b []byte
	last := 0
	for i := 0; i+2 < len(s); i++ {
		if s[i] != '$' {
			continue
		}
		if s[i+1] >= 'a' && s[i+1] <= 'z' {
			// "$u/bin$u/cat": a bare variable glued to a path's
			// separators expands to nothing there too.
			j := i + 1
			for j < len(s) && j-i-1 <= 16 && isWordByte(s[j]) {
				j++
			}
			if (j == len(s) || s[j] == '/' || s[j] == '$' || s[j] == ' ') && (i > 0 && s[i-1] == '/' || j < len(s) && s[j] == '/') {
				b = append(b, s[last:i]...)
				last = j
				i = j - 1
			}
			continue
		}
		if s[i+1] != '{' && s[i+1] != '(' || i+3 >= len(s) {
			continue
		}
		closer := byte('}')
		if s[i+1] == '(' {
			closer = ')'
		}
		j := i + 2
		for j < len(s) && j-i-2 <= 16 && isWordByte(s[j]) {
			j++
		}
		if j == i+2 || j >= len(s) || s[j] != closer {
			continue
		}
		b = append(b, s[last:i]...)
		last = j + 1
		i = j
	}
	if last == 0 {
		return s, false
	}
	return string(append(b, s[last:]...)), true
}

// wordsOnly reports whether s is at least n words of letters (punctuation
// may end one, a parenthesis open it) and nothing else: a sentence, not a
// command line.
func wordsOnly(s string, n int) bool {
	words := 0
	for w := range strings.FieldsSeq(s) {
		w = strings.TrimLeft(strings.TrimRight(w, ",.;:)"), "(")
		if len(w) < 2 || strings.Trim(w, "abcdefghijklmnopqrstuvwxyz'") != "" {
			return false
		}
		words++
	}
	return words >= n
}

// wideSeparators are the fullwidth and look-alike forms of '/', '\' and
// '.' that Windows' best-fit mapping and some frameworks fold to ASCII
// after a filter looked ("..％ef％bc％8f" is "../" there, and
// "..%ef%b9%a8" is "..\": U+FE68, the small reverse solidus).
var wideSeparators = strings.NewReplacer("／", "/", "＼", "\\", "．", ".", "\u2215", "/", "\u2044", "/", "\u2216", "\\", "\ufe68", "\\")

// foldWideSeparators returns lv with wideSeparators folded; lv itself when
// it has none (most values with high bytes are text in another script).
func foldWideSeparators(lv string) string {
	if !strings.Contains(lv, "\xef\xbc") && !strings.Contains(lv, "\xef\xb9\xa8") && !strings.Contains(lv, "\xe2\x88") && !strings.Contains(lv, "\xe2\x81\x84") {
		return lv
	}
	return wideSeparators.Replace(lv)
}

// climbTargets are the files a traversal climbs to, each with the
// directories before it as climbCompact runs them together.
var climbTargets = []struct {
	file string
	dirs []string
}{
	{"passwd", []string{"etc"}}, {"shadow", []string{"etc"}}, {"issue", []string{"etc"}}, {"group", []string{"etc"}},
	{"hosts", []string{"etc", "windowssystem32driversetc", "winntsystem32driversetc", "system32driversetc"}},
	{"boot.ini", []string{"", "c:"}}, {"win.ini", []string{"", "windows", "winnt", "c:windows", "c:winnt"}},
	{"system.ini", []string{"", "windows", "winnt", "c:windows"}},
}

// checkObfuscatedClimb finds a climb to a system file whose dots and
// separators are spelled so that no filter on "../" sees them, as fuzzers
// of decoders send (".%00.%c1%pc.%00.%c1%pcetc%c1%pcpasswd",
// "0x2e0x2e0x2fboot.ini", "..%e0%80%afwindows%e0%80%afwin.ini"): read
// without the spellings no path holds (NULs, broken or overlong escapes,
// hex literals of separators, separators), the value is two or more dots,
// then the file.
func checkObfuscatedClimb(v, lv string, f Features, c *Context) (int, int, bool) {
	s := strings.TrimRight(lv, " \x00")
	if len(s) < 8 || len(s) > 512 {
		return 0, 0, false
	}
	switch s[len(s)-1] {
	case 'd', 'w', 'e', 'p', 's', 'i':
	default:
		return 0, 0, false
	}
	for _, t := range climbTargets {
		if !strings.HasSuffix(s, t.file) {
			continue
		}
		var buf [512]byte
		prefix := s[:len(s)-len(t.file)]
		b := climbCompact(buf[:0], prefix)
		dots := 0
		for dots < len(b) && b[dots] == '.' {
			dots++
		}
		// Two dots, or no dot but a run of spellings no decoder makes one
		// of ("%c0%fe%c0%fe%uEFC8": the fuzzer's dots the engine cannot
		// read as such) in front of the directories.
		// Control bytes and separators alone are no spelling of a dot
		// (the prefilter agrees: it needs a dot, a high byte, a '%' or a
		// digit).
		if (dots >= 2 || dots == 0 && len(prefix)-len(b) >= 6 && f&(fHigh|fPercent|fDigit) != 0) && slices.Contains(t.dirs, string(b[dots:])) {
			return 0, len(v), true
		}
	}
	return 0, 0, false
}

// climbCompact appends s to b without what only disguises a path: NULs and
// control bytes, separators ('/', '\\', hex literals of them), escapes
// left undecoded ("%pc"), %u escapes and multi-byte sequences, except that
// those which stand for a dot (0x2e, %uff0e, an overlong or full-width
// '.') are a dot.
func climbCompact(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '.' || ch == '?':
			// '?' too: Windows' wildcard, "??" matches "..".
			b = append(b, '.')
		case ch < 0x20 || ch == '/' || ch == '\\':
		case ch == '0' && i+3 < len(s) && s[i+1] == 'x' && s[i+2] == '2' && (s[i+3] == 'e' || s[i+3] == 'f'), ch == '0' && i+3 < len(s) && s[i+1] == 'x' && s[i+2] == '5' && s[i+3] == 'c':
			if s[i+3] == 'e' {
				b = append(b, '.')
			}
			i += 3
		case ch == '%' && i+5 < len(s) && s[i+1] == 'u':
			if s[i+2:i+6] == "ff0e" {
				b = append(b, '.')
			}
			i += 5
		case ch == '%' && i+2 < len(s) && isWordByte(s[i+1]) && isWordByte(s[i+2]):
			i += 2
		case ch >= 0xc0:
			if r, n := utf8.DecodeRuneInString(s[i:]); r != utf8.RuneError && unicode.IsLetter(r) {
				b = append(b, s[i:i+n]...) // a letter of some script is text
				i += n - 1
				break
			}
			// A lead byte and its continuation bytes: a dot when the last
			// holds '.' (overlong: c0 ae, e0 80 ae) or it is U+FF0E.
			j := i + 1
			for j < len(s) && j-i < 6 && s[j] >= 0x80 && s[j] < 0xc0 {
				j++
			}
			if j > i+1 && (s[j-1]&0x3f == '.' || s[i:j] == "\xef\xbc\x8e") {
				b = append(b, '.')
			}
			i = j - 1
		case ch >= 0x80:
		default:
			b = append(b, ch)
		}
		if len(b) >= cap(b) {
			break
		}
	}
	return b
}

// shellTargets are the files a command injection reads or runs first.
var shellTargets = []string{"/etc/passwd", "/etc/shadow", "/etc/hosts", "/etc/group", "/etc/issue", "/bin/sh", "/bin/bash", "/bin/cat", "/bin/nc", "/usr/bin/id", "/proc/self/environ", "/etc/hostname"}

// hasLetter reports whether s holds an ASCII letter.
func hasLetter(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c >= 'a' && c <= 'z' {
			return true
		}
	}
	return false
}

var unquote = strings.NewReplacer(`"`, "", "'", "")

// disguisedPath finds an absolute path that a shell turns into one of
// shellTargets but a filter on the name does not see: globbed
// ("/et?/pa??wd", "/???/?at") or cut by quotes ("/e\"t\"c/pa\"s\"swd").
func disguisedPath(lv string) (int, int, bool) {
	for i := 0; i < len(lv); i++ {
		if lv[i] != '/' || i > 0 && strings.IndexByte(" <=;|&(+", lv[i-1]) < 0 {
			continue // '+': a space to a server that decodes the form twice
		}
		e := i
		for e < len(lv) && lv[e] > ' ' && lv[e] != ';' && lv[e] != '|' && lv[e] != '&' && lv[e] != ')' {
			e++
		}
		tok := lv[i:e]
		if !strings.ContainsAny(tok, "?*[\"'") || len(tok) > 64 {
			i = e
			continue
		}
		unq := unquote.Replace(tok)
		for _, t := range shellTargets {
			if unq == t {
				return i, e, true
			}
			if ok, _ := path.Match(unq, t); ok && strings.Count(unq, "/") == strings.Count(t, "/") {
				return i, e, true
			}
		}
		i = e
	}
	return 0, 0, false
}
