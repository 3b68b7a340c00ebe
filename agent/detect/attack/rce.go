package attack

import (
	"regexp"
	"slices"
	"strings"
)

// OS command injection needs a shell metacharacter that starts a new
// command (; | || && & newline $( `) followed by a command. Commands that
// are also English words (cat, echo, sort, find, more, type, ...) count
// only with a shell-shaped argument after them (a path, an option, a
// redirection), so "dogs; cat owners" is prose and "x; cat /etc/passwd" is
// not.

// strongCommands are programs whose name alone is the signal.
var strongCommands = map[string]bool{
	"whoami": true, "uname": true, "wget": true, "curl": true, "nc": true, "ncat": true, "netcat": true,
	"bash": true, "sh": true, "zsh": true, "ksh": true, "csh": true, "tcsh": true,
	"python2": true, "python3": true,
	"nslookup": true, "ifconfig": true, "ipconfig": true, "systeminfo": true, "tasklist": true,
	"taskkill": true, "certutil": true, "powershell": true, "pwsh": true, "cmd": true, "chmod": true,
	"chown": true, "crontab": true, "useradd": true, "passwd": true, "sudo": true, "base64": true,
	"socat": true, "busybox": true, "mkfifo": true, "xxd": true, "hexdump": true, "wmic": true,
	"bitsadmin": true, "mshta": true, "rundll32": true, "regsvr32": true, "cscript": true,
	"wscript": true, "netstat": true, "lsof": true, "iptables": true, "nmap": true, "telnet": true,
	"tftp": true, "uptime": true, "getent": true, "ls": true, "pwd": true, "id": true,
	"printenv": true, "hostname": true,
	"whoami.exe": true, "cmd.exe": true,
	"powershell.exe": true, "uname.exe": true,
	"ipconfig.exe": true, "net.exe": true, "ping.exe": true, "nslookup.exe": true, "tasklist.exe": true, "systeminfo.exe": true,
	"lsb_release": true,
	"visudo":      true, "strace": true, "ltrace": true, "gdb": true, "irb": true, "cscli": true, "base32": true,
	"cpulimit": true, "c89": true, "c99": true, "bcdboot": true, "invoke-webrequest": true,
	"invoke-expression": true, "iex": true, "ansible": true, "ansible-playbook": true, "rmt-tar": true,
	"rmt-dump": true, "aa-disable": true, "aa-exec": true, "setsid": true, "stdbuf": true, "unbuffer": true,
}

// netVerbs are the subcommands of Windows' net that enumerate or change
// accounts, groups and shares.
var netVerbs = map[string]bool{
	"user": true, "users": true, "localgroup": true, "group": true, "view": true, "share": true, "use": true,
	"accounts": true, "session": true, "start": true, "stop": true,
}

// wrapperCommands run the command that follows them; the command after
// them is judged as if it stood alone: "time sh -c id", "nohup nc -e".
var wrapperCommands = map[string]bool{
	"time": true, "strace": true, "ltrace": true, "nice": true, "nohup": true, "sudo": true, "env": true,
	"timeout": true, "xargs": true, "cpulimit": true, "watch": true, "exec": true, "stdbuf": true,
	"setsid": true, "unbuffer": true, "chroot": true, "doas": true, "busybox": true,
}

// adminTools are administration tools whose names are never words:
// flagged as the first word of any value ("chef-owned" is prose,
// "chef-client" is not).
var adminTools = map[string]bool{
	"ansible-playbook": true, "ansible-config": true, "ansible-galaxy": true, "ansible-console": true,
	"ansible-doc": true, "ansible-inventory": true, "ansible-pull": true, "ansible-vault": true,
	"ansible-test": true, "chef-client": true, "chef-solo": true, "chef-shell": true, "chef-vault": true,
	"chef-run": true, "chef-apply": true, "chef-zero": true, "invoke-webrequest": true,
	"invoke-expression": true, "aa-disable": true, "aa-exec": true,
}

// weakCommands are programs whose names are common words.
var weakCommands = map[string]bool{
	"cat": true, "echo": true, "set": true, "sort": true, "type": true, "find": true, "head": true,
	"tail": true, "more": true, "less": true, "host": true, "last": true, "who": true, "w": true,
	"start": true, "copy": true, "date": true, "time": true, "kill": true, "touch": true, "del": true,
	"which": true, "strings": true, "expr": true, "mail": true, "ip": true, "ss": true, "cp": true,
	"mv": true, "dd": true, "bc": true, "wc": true, "od": true, "su": true, "tee": true, "nice": true,
	"grep": true, "awk": true, "sed": true, "xargs": true, "tar": true, "zip": true, "unzip": true,
	"ftp": true, "ssh": true, "printf": true, "export": true, "exec": true, "eval": true, "mkdir": true,
	"rmdir": true, "route": true, "arp": true, "uniq": true, "reg": true, "format": true, "timeout": true,
	"wait": true, "source": true, "history": true, "id.exe": true, "systemctl": true, "service": true,
	"sendmail": true, "locate": true, "sleep": true, "node": true, "ping": true, "net": true, "ver": true,
	"dir": true, "ruby": true, "python": true, "perl": true, "php": true, "lua": true, "dig": true, "ps": true, "rm": true,
	"env": true, "halt": true, "reboot": true, "shutdown": true, "dash": true, "scp": true, "gcc": true, "nohup": true,
	"cd": true, "alias": true, "column": true, "comm": true, "bridge": true, "perf": true, "trap": true, "rmt": true,
	"killall": true, "pkill": true, "dmesg": true, "whereis": true, "file": true, "stat": true, "diff": true, "cut": true,
}

// shellPaths are shells and tools named by their full path, and bash's
// network pseudo-files.
var shellPaths = []string{"/dev/tcp/", "/dev/udp/", "/bin/sh", "/bin/bash", "/bin/zsh", "/bin/busybox", "/usr/bin/id", "/bin/nc", "/usr/bin/wget", "/usr/bin/curl", "/usr/bin/python", "/usr/bin/perl"}

var shellPathSet = newSubstrings(shellPaths)

func checkShell(v, lv string, f Features, c *Context) (int, int, bool) {
	if len(lv) < 2 {
		return 0, 0, false
	}
	if f&^(fLetter|fUpper) == 0 && c.Where != InHeader && bareCommand(v) {
		return 0, len(v), true // "whoami" as the whole value (bareCommands)
	}
	if f&^(fLetter|fUpper|fDigit|fSpace) == 0 && c.Where != InHeader {
		// "sleep 5", "which nc": a delay or a tool lookup as all the
		// value holds.
		if w, rest, ok := strings.Cut(strings.TrimSpace(lv), " "); ok && !strings.Contains(rest, " ") {
			if w == "sleep" && rest != "" && strings.Trim(rest, "0123456789") == "" || w == "which" && (strongCommands[rest] || rest == "netcat" || rest == "gcc" || rest == "python" || rest == "perl") {
				return 0, len(v), true
			}
		}
	}
	// Shellshock: a function definition in a header or variable. Bash
	// imports one from any variable that starts "() {", whatever its body.
	if f&fParen != 0 && f&fBrace != 0 {
		if s := strings.TrimLeft(lv, " \t"); strings.HasPrefix(s, "()") && len(s) > 2 {
			k := 2
			for k < len(s) && k < 4 && (s[k] == ' ' || s[k] == '\t' || s[k] == '.' || s[k] == 0) {
				k++
			}
			if k < len(s) && s[k] == '{' {
				return len(lv) - len(s), len(v), true
			}
		}
		if i := strings.Index(lv, "()"); i >= 0 && (i == 0 || !isWordByte(lv[i-1])) {
			// ("foo() { :; }" names a function: a definition in a script)
			rest := strings.TrimLeft(lv[i+2:], " \t")
			// The body's closing brace has to end a word for bash to read
			// a definition: "() { :; }just a test" is none.
			if k := strings.IndexByte(rest, '}'); strings.HasPrefix(rest, "{") && (strings.Contains(rest, ":;") || strings.Contains(rest, "};")) && k > 0 && (k+1 == len(rest) || !isWordByte(rest[k+1])) {
				return i, len(v), true
			}
		}
	}
	if f&fDollar != 0 {
		// $IFS as a space, or a $( ) substitution of a command.
		if i := strings.Index(lv, "${ifs"); i >= 0 {
			return i, i + 5, true
		}
		if i := strings.Index(lv, "$ifs"); i >= 0 && i > 0 && isWordByte(lv[i-1]) {
			return i, i + 4, true
		}
		if i, e, ok := substringExpansion(lv); ok {
			return i, e, true
		}
		// "$0<<<$'\\$((...))'": a here-string fed to the shell itself
		// ($0), the command spelled out in arithmetic or escapes.
		if i := containsAny(lv, "$0<<<", "$0 <<<"); i >= 0 {
			return i, len(v), true
		}
		// Shell arithmetic as the whole value, "$[2+2]", "$((7*7))": the
		// probe that tells a shell evaluated it.
		if s := strings.TrimSpace(lv); len(s) <= 40 && (strings.HasPrefix(s, "$[") && strings.HasSuffix(s, "]") || strings.HasPrefix(s, "$((") && strings.HasSuffix(s, "))")) {
			return 0, len(v), true
		}
	}
	if f&fDash != 0 {
		// Options that make a program run a command of the caller's:
		// argument injection into ssh, tar, git, Chrome.
		if i, e, ok := argumentInjectionAt(lv); ok {
			return i, e, true
		}
	}
	if f&fPercent != 0 && f&fColon != 0 {
		// "ping%CommonProgramFiles:~10,-18%127.0.0.1": cmd.exe's
		// substring of a variable, spelling a space or a character.
		if i, e, ok := cmdSubstring(lv); ok {
			return i, e, true
		}
	}
	if f&fDollar != 0 && f&fPipe != 0 {
		// "echo whoami|$0": text piped into the shell running it.
		if i := containsAny(lv, "|$0", "| $0"); i >= 0 {
			if e := i + strings.IndexByte(lv[i:], '0') + 1; e == len(lv) || strings.IndexByte(" ;&|\n)`", lv[e]) >= 0 {
				return i, e, true
			}
		}
	}
	if f&fSlash != 0 && f&fBackslash != 0 {
		// "/\b\i\n/////s\h": a shell's path with escapes and doubled
		// slashes a shell reads past.
		t := strings.ReplaceAll(lv, `\`, "")
		for strings.Contains(t, "//") {
			t = strings.ReplaceAll(t, "//", "/")
		}
		if _, _, plain := shellPathSet.index(lv); t != lv && !plain {
			if _, _, ok := shellPathSet.index(t); ok {
				return 0, len(v), true
			}
		}
	}
	if f&(fSlash) != 0 {
		// A shell named in running text ("Solaris 10 /bin/sh has a bug",
		// "use /bin/bash to work around it") is prose; after a separator,
		// an '=' or at the start it is run.
		prose := f&fSpace != 0 && isProse(lv)
		start, end := 0, 0
		found := shellPathSet.each(lv, func(e, i int) bool {
			if prose && i > 1 && lv[i-1] == ' ' && (isWordByte(lv[i-2]) || lv[i-2] == ',') {
				return false
			}
			if f&fSpace != 0 && shellNamedInSentence(lv, i, shellPaths[e]) {
				return false // "newgrp uses /bin/sh (not bash).", "the default shell (/bin/sh) has"
			}
			if i > 1 && lv[i-2] == '#' && lv[i-1] == '!' && (i == 2 || lv[i-3] == ' ' || lv[i-3] == '"' || lv[i-3] == '`') {
				return false // "uses #!/bin/sh": a script's interpreter line named in text
			}
			start, end = i, i+len(shellPaths[e])
			return true
		})
		if found {
			return start, end, true
		}
	}
	if f&(fBackslash) != 0 {
		if i := containsAny(lv, `\cmd.exe`, `\powershell.exe`, `system32\cmd`); i >= 0 {
			return i, len(v), true
		}
	}
	if f&fPercent != 0 && f&fParen != 0 {
		if i, e, ok := cmdForLoop(lv); ok {
			return i, e, true
		}
	}
	if i, e, ok := cmdIfTest(lv); ok {
		return i, e, true
	}
	if e, ok := toolAtStart(lv); ok {
		return 0, e, true
	}
	if f&fDollar != 0 {
		for _, sh := range [...]string{"$shell -c ", "${shell} -c ", "$shell -i", "${shell} -i"} {
			if i := strings.Index(lv, sh); i >= 0 {
				return i, i + len(sh), true
			}
		}
	}
	if f&fBracket != 0 {
		if i, ok := bracketGlobbed(lv); ok {
			return i, len(v), true
		}
	}
	if f&fParen != 0 && (f&fLT != 0 || f&fGT != 0) {
		if i, e, ok := processSubstitution(lv); ok {
			return i, e, true
		}
	}
	newlineSeparates := c.Where != InField && c.Where != InBody || c.EncodedNewline
	if f&(fSemi|fPipe|fAmp|fDollar|fBacktick|fNewline) == 0 && (f&fBackslash == 0 || !strings.HasPrefix(strings.TrimLeft(lv, " '\""), `\n`) && !strings.HasPrefix(strings.TrimLeft(lv, " '\""), `\r`)) {
		return commandAtStart(v, lv, f, c)
	}
	// In running text of a body field, a backtick span opened after a
	// space is Markdown's inline code ("run `sudo apt-get update && ...`
	// first"): what it quotes is shown, not run.
	markdown := f&fBacktick != 0 && (c.Where == InField || c.Where == InBody) && isProse(lv)
	// A separator the value starts with ends the command the application
	// builds: what follows runs alone, so even a common-word command
	// with nothing after it counts (";ps", "| w").
	lead := len(lv) - len(strings.TrimLeft(lv, " '\""))
	for i := 0; i < len(lv); i++ {
		ch := lv[i]
		j := -1
		sub := false
		if markdown && ch == '`' && (i == 0 || lv[i-1] == ' ' || lv[i-1] == '\n') {
			if end := strings.IndexByte(lv[i+1:], '`'); end > 0 {
				i += end + 1
				continue
			}
		}
		switch ch {
		case ';', '|', '&':
			j = i + 1
			if j < len(lv) && (lv[j] == '|' || lv[j] == '&') {
				j++
			}
			sub = i == lead
		case '\n', '\r':
			// In a field a line break is text, but not one the value
			// starts with alone: a browser's textarea sends "\r\n".
			if newlineSeparates || ch == '\n' && i == lead {
				j = i + 1
			}
		case '\\':
			// A line break escaped in the value ("\nid;") where the value
			// starts or after a separator: a separator once unescaped.
			if i+1 < len(lv) && (lv[i+1] == 'n' || lv[i+1] == 'r') && (i == lead || i > 0 && strings.IndexByte(";|&", lv[i-1]) >= 0) {
				j, sub = i+2, true
			}
		case '$':
			if i+1 < len(lv) && lv[i+1] == '(' && !makeVariable(v, i+2) {
				j, sub = i+2, true
			}

		case '`':
			end := strings.IndexByte(lv[i+1:], '`')
			if end <= 0 {
				break
			}
			// `cmd` glued to text or after a metacharacter; after a space
			// it is also Markdown code, so only a strong command counts.
			if i > 0 && lv[i-1] == '`' || i+1 < len(lv) && lv[i+1] == '`' {
				// A Markdown code fence: ```bash.
			} else if markupCode(lv, i, i+1+end, c) {
				i += end + 1
			} else if i == 0 || strings.IndexByte(";|&=('\"", lv[i-1]) >= 0 || lv[i-1] != ' ' && lv[i-1] != '\n' {
				j, sub = i+1, true
			} else if w, _ := shellWord(lv, i+1); strongCommands[w] && w != "ls" && w != "pwd" && !codeInSentence(lv, i, i+1+end, c) {
				j, sub = i+1, true
			}
		}
		if j < 0 {
			continue
		}
		if e, ok := varCommand(lv, j); ok {
			return i, e, true // "X=$'uname\x20-a'&&$X": a command kept in a variable, run
		}
		if e, ok := commandAt(lv, j, sub); ok {
			if f&fUpper != 0 && capitalsWord(v, j, e) && e < len(lv) && lv[e] == ' ' && !shellArg(lv, e) && hasLetter(lv[e:]) {
				continue // "LC & NC - Boys": a name in capitals that words follow, not nc
			}
			return i, e, true
		}
	}
	return commandAtStart(v, lv, f, c)
}

// markupCode reports whether the backtick span lv[open:close+1] is
// Markdown's or reStructuredText's inline code by what surrounds it: a
// link's text ("[`Unzip`][]"), a role (":func:`exec`"), or a list item of
// a text field ("* `hostname` {string}").
func markupCode(lv string, open, close int, c *Context) bool {
	if open > 0 && lv[open-1] == '[' && close+1 < len(lv) {
		// A link's text: "[`Unzip`][]", "[`start` event][]", "[`fs`](fs.md)".
		tail := lv[close+1 : min(len(lv), close+48)]
		if k := strings.IndexByte(tail, ']'); k >= 0 && !strings.ContainsAny(tail[:k], "`\n") && (k+1 == len(tail) || tail[k+1] == '[' || tail[k+1] == '(' || tail[k+1] == ':' || tail[k+1] == ' ' || tail[k+1] == ',' || tail[k+1] == '.') {
			return true
		}
	}
	if open > 2 && lv[open-1] == ':' {
		k := open - 2
		for k >= 0 && (lv[k] >= 'a' && lv[k] <= 'z' || lv[k] == '-') {
			k--
		}
		if k >= 0 && k < open-2 && lv[k] == ':' {
			return true
		}
	}
	if c.Where == InField || c.Where == InBody {
		s := strings.TrimLeft(lv[:open], " \t")
		return s == "* " || s == "- "
	}
	return false
}

// shellNamedInSentence reports whether the shell path at lv[i:] is a word
// of a sentence: a word of prose before it, or parentheses around it, and
// words after it, not the options or input a run would have.
func shellNamedInSentence(lv string, i int, path string) bool {
	if strings.HasPrefix(path, "/dev/") {
		return false
	}
	e := i + len(path)
	// The whole path ("/system/bin/sh"), and quotes or Markdown code
	// around it ("`'/bin/sh'` on Unix").
	for lo := max(0, i-256); i > lo && (isWordByte(lv[i-1]) || lv[i-1] == '/' || lv[i-1] == '_' || lv[i-1] == '-' || lv[i-1] == '.'); {
		i--
	}
	for q := 0; q < 2 && i > 0 && e < len(lv) && (lv[i-1] == '`' || lv[i-1] == '\'' || lv[i-1] == '"') && lv[e] == lv[i-1]; q++ {
		i, e = i-1, e+1
	}
	paren := i > 0 && lv[i-1] == '(' && e < len(lv) && lv[e] == ')'
	if !paren && (i < 2 || lv[i-1] != ' ' || !proseWordBefore(lv[:i-1])) {
		return false
	}
	rest := lv[e:]
	if paren {
		rest = rest[1:]
	}
	rest = strings.TrimLeft(rest, ".,;:")
	if rest == "" {
		return true // the sentence ends with it
	}
	if rest[0] != ' ' {
		return false
	}
	w, _, _ := strings.Cut(strings.TrimLeft(rest, " ("), " ")
	w = strings.TrimRight(w, ".,;:)")
	return len(w) >= 2 && strings.Trim(w, "abcdefghijklmnopqrstuvwxyz'") == "" && !strongCommands[w] && !weakCommands[w]
}

// codeInSentence reports whether the backtick span lv[open:close+1] in a
// text field is a program's name in a sentence, Markdown's inline code:
// one word, a word of prose before it ("using `telnet`:", "lookup for
// `python3` program").
func codeInSentence(lv string, open, close int, c *Context) bool {
	if c.Where != InField && c.Where != InBody || open < 2 || lv[open-1] != ' ' {
		return false
	}
	next := close + 1
	if next+1 < len(lv) && lv[next] == 's' && strings.IndexByte(" .,:;)", lv[next+1]) >= 0 {
		next++ // "`ID`s": a plural
	}
	if next < len(lv) && strings.IndexByte(" .,:;)", lv[next]) < 0 || strings.ContainsAny(lv[open+1:close], " \t") {
		return false // a command line in the span ("please `sudo reboot` now") is one to run
	}
	if !proseWordBefore(lv[:open-1]) {
		return false
	}
	// A sentence around it: "test `id`" is a probe, not one.
	return sentenceWords(lv[:open]+lv[min(len(lv), next):]) >= 3
}

// makeVariable reports whether v[j:] is the name of a make variable and
// its ')', "$(GREP)", "$(CC)": in shell a command of capitals, which no
// system has.
func makeVariable(v string, j int) bool {
	k := j
	for k < len(v) && (v[k] >= 'A' && v[k] <= 'Z' || v[k] == '_' || k > j && v[k] >= '0' && v[k] <= '9') {
		k++
	}
	return k > j+1 && k < len(v) && v[k] == ')'
}

// describedName reports whether v[e:] (after a first word) is a sentence
// that describes it, "setsid Create a new session (Unix).": a capitalized
// word and three more words. No command takes such an argument list.
func describedName(v string, e int) bool {
	if e+3 >= len(v) || v[e] != ' ' || v[e+1] < 'A' || v[e+1] > 'Z' || v[e+2] < 'a' || v[e+2] > 'z' {
		return false
	}
	words := 0
	for w := range strings.FieldsSeq(v[e+1:]) {
		w = strings.TrimLeft(strings.TrimRight(w, ",.;:)"), "(")
		if w == "" || strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'") != "" {
			return false
		}
		words++
	}
	return words >= 4
}

// varCommand reports whether lv[j:] (after a separator) runs a variable
// as the command, "$X" or "${X}" alone up to the next separator or the
// end, that the value itself assigns where it starts or after a
// separator ("X=...").
func varCommand(lv string, j int) (int, bool) {
	for j < len(lv) && lv[j] == ' ' {
		j++
	}
	if j+1 >= len(lv) || lv[j] != '$' {
		return 0, false
	}
	k := j + 1
	if lv[k] == '{' {
		k++
	}
	n := k
	for n < len(lv) && n-k < 16 && (lv[n] >= 'a' && lv[n] <= 'z' || lv[n] == '_' || n > k && lv[n] >= '0' && lv[n] <= '9') {
		n++
	}
	if n == k {
		return 0, false
	}
	name := lv[k:n]
	e := n
	if lv[k-1] == '{' {
		if e >= len(lv) || lv[e] != '}' {
			return 0, false
		}
		e++
	}
	if e < len(lv) && strings.IndexByte(" ;&|\n", lv[e]) < 0 {
		return 0, false
	}
	for a := range occurrences(lv[:j], name+"=") {
		if a == 0 || strings.IndexByte(" ;&|\n", lv[a-1]) >= 0 {
			return e, true
		}
	}
	return 0, false
}

// capitalsWord reports whether the word that starts after the blanks at
// v[j:] and ends at e is written in capitals, as names and initials are
// and Unix commands are not.
func capitalsWord(v string, j, e int) bool {
	for j < e && (v[j] == ' ' || v[j] == '\t') {
		j++
	}
	if e-j < 2 {
		return false
	}
	for k := j; k < e; k++ {
		if (v[k] < 'A' || v[k] > 'Z') && (v[k] < '0' || v[k] > '9') {
			return false
		}
	}
	return true
}

// argumentInjections are options with which a program runs a command
// given as their value.
var argumentInjections = []string{
	"-oproxycommand=", "-o proxycommand=", "-olocalcommand=", "--gpu-launcher=", "--renderer-cmd-prefix=",
	"--utility-cmd-prefix=", "--browser-subprocess-path=", "--use-compress-program=", "--checkpoint-action=exec=",
	"--to-command=", "--upload-pack=", "--receive-pack=",
}

var argumentInjectionSet = newSubstrings(argumentInjections)

func argumentInjectionAt(lv string) (int, int, bool) {
	if e, i, ok := argumentInjectionSet.index(lv); ok {
		return i, i + len(argumentInjections[e]), true
	}
	return 0, 0, false
}

// cmdSubstring finds cmd.exe's %NAME:~start[,length]% expansion.
func cmdSubstring(lv string) (int, int, bool) {
	for i := range occurrences(lv, ":~") {
		s := strings.LastIndexByte(lv[:i], '%')
		if s < 0 || i-s < 2 || i-s > 40 {
			continue
		}
		name := lv[s+1 : i]
		if strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789_()") != "" {
			continue
		}
		e := i + 2
		for e < len(lv) && e-i < 16 && (lv[e] >= '0' && lv[e] <= '9' || lv[e] == '-' || lv[e] == ',') {
			e++
		}
		if e > i+2 && e < len(lv) && lv[e] == '%' {
			return s, e + 1, true
		}
	}
	return 0, 0, false
}

// escapedBreak returns the index in w of a "\n", "\r" or "\t" escape, or
// -1.
func escapedBreak(w string) int {
	for k := 0; k+1 < len(w); k++ {
		if w[k] == '\\' && (w[k+1] == 'n' || w[k+1] == 'r' || w[k+1] == 't') {
			return k
		}
	}
	return -1
}

// substringExpansion finds bash's ${VAR:offset:length}, which spells
// characters out of the environment ("${PATH:0:1}" is "/") where a filter
// forbids them.
func substringExpansion(lv string) (int, int, bool) {
	for i := range occurrences(lv, "${") {
		after := i + 2
		j := after
		for j < len(lv) && (lv[j] >= 'a' && lv[j] <= 'z' || lv[j] == '_' || lv[j] >= '0' && lv[j] <= '9') {
			j++
		}
		if j == after || j >= len(lv) || lv[j] != ':' {
			continue
		}
		d, digits := j+1, 0
		for d < len(lv) && (lv[d] >= '0' && lv[d] <= '9' || lv[d] == '-' || lv[d] == ' ') {
			if lv[d] <= '9' && lv[d] >= '0' {
				digits++
			}
			d++
		}
		if digits == 0 || d >= len(lv) || lv[d] != ':' && lv[d] != '}' {
			continue // "${1:-}" is a default, not a slice
		}
		if lv[d] == ':' {
			d++
			for d < len(lv) && lv[d] >= '0' && lv[d] <= '9' {
				d++
			}
		}
		if d < len(lv) && lv[d] == '}' {
			return i, d + 1, true
		}
	}
	return 0, 0, false
}

// processSubstitution finds bash's process substitution, ">(tee log)" or
// "<(curl x)": a command closed by the ')'.
func processSubstitution(lv string) (int, int, bool) {
	for i := range byteOccurrences(lv, '(') {
		if i == 0 || lv[i-1] != '<' && lv[i-1] != '>' {
			continue
		}
		if w, e := shellWord(lv, i+1); (strongCommands[w] || weakCommands[w]) && e < len(lv) && strings.IndexByte(lv[e:], ')') >= 0 {
			return i - 1, e, true
		}
	}
	return 0, 0, false
}

// bracketGlobbed finds a command or a path hidden by one-character
// bracket globs, which the shell expands and word lists do not:
// "cat /etc/pa[s]swd", "/bi[n]/bash", "/usr/bin/[u]name -a". With the
// globs undone, the value must name a shell path, or start with a command
// and its argument.
func bracketGlobbed(lv string) (int, bool) {
	i := strings.IndexByte(lv, '[')
	if _, _, ok := globChar(lv, i); i < 0 || !ok {
		if i < 0 || !strings.Contains(lv[i:], "[?]") {
			return 0, false
		}
	}
	b := make([]byte, 0, len(lv))
	n := 0
	for k := 0; k < len(lv); k++ {
		if c, end, ok := globChar(lv, k); ok {
			b = append(b, c)
			k = end
			n++
			continue
		}
		b = append(b, lv[k])
	}
	if n == 0 {
		return 0, false
	}
	d := string(b)
	// Only a glob inside a path is a trick: "[x] done" is a checkbox.
	if !strings.Contains(d, "/") {
		return 0, false
	}
	if _, j, ok := shellPathSet.index(d); ok {
		return min(i, j), true
	}
	if _, _, ok := checkSensitiveFile(d, d, features(d), &Context{Where: InQuery}); ok {
		return i, true
	}
	w, e := shellWord(d, 0)
	if (strongCommands[w] || weakCommands[w]) && (shellArg(d, e) || strings.HasPrefix(d, "/") || strings.HasPrefix(d[e:], " /")) {
		return 0, true
	}
	return 0, false
}

// globChar reads a bracket expression at lv[k] that can match one
// character only: "[s]", or "[p//]" (a bracket never matches the '/' of
// a path, so the slashes add nothing). It returns the character and the
// index of the ']'.
func globChar(lv string, k int) (byte, int, bool) {
	if k < 0 || k+2 >= len(lv) || lv[k] != '[' || lv[k+1] == ' ' || lv[k+1] == '/' || lv[k+1] == ']' {
		return 0, 0, false
	}
	j := k + 2
	for j < len(lv) && lv[j] == '/' {
		j++
	}
	if j >= len(lv) || lv[j] != ']' {
		return 0, 0, false
	}
	return lv[k+1], j, true
}

// commandAtStart flags a value that is a whole command line with a strong
// command and a shell-shaped argument: "ping -c 3 10.0.0.1", "nc -e /bin/sh".
func commandAtStart(v, lv string, f Features, c *Context) (int, int, bool) {
	i, e, ok := commandLineAtStart(v, lv, f, c)
	if !ok {
		return 0, 0, false
	}
	// Judged on a match only, the rare case: what names a program rather
	// than runs one.
	if w, we := shellWord(lv, 0); w != "" && describedName(v, we) {
		return 0, 0, false // "sudo Members of this group may run...": a name, then its description
	} else if k := strings.IndexByte(lv[:we], '/'); k > 0 && lv[0] != '.' && lv[0] != '~' && lv[0] != '\'' && lv[0] != '"' && lv[:k] != "bin" && lv[:k] != "sbin" && lv[:k] != "usr" {
		return 0, 0, false // "route/netstat -r": a relative path names no program on PATH ("bin/sh" from / does)
	}
	return i, e, true
}

// commandLineAtStart is commandAtStart before the exclusions.
func commandLineAtStart(v, lv string, f Features, c *Context) (int, int, bool) {
	if e, ok := commandAtStartAnywhere(lv); ok {
		return 0, e, true
	}
	if f&(fQuote|fBackslash|fDollar|fSlash) != 0 {
		if e, ok := obfuscatedCommand(lv); ok {
			return 0, e, true
		}
	}
	if c.Where == InBody || c.Where == InHeader {
		return 0, 0, false
	}
	w, e := shellWord(lv, 0)
	if !strongCommands[w] && !startCommands[w] {
		return 0, 0, false // the common case, decided on the first word
	}
	if c.Where == InField && (e >= len(lv) || lv[e] != ' ' || len(lv) > 120 || strings.Count(lv, " ") > 6 || strings.ContainsAny(lv, "\n\r") || isProse(lv)) {
		// A form or JSON field holds text: a command line counts there
		// only when it is all the field holds, short and not a sentence
		// ("Sh|ad0w1156" is a password, not sh piped).
		return 0, 0, false
	}
	if w == "ping" && shellArg(lv, e) {
		// "ping -c 1 127.0.0.1" in a query argument: the probe whose
		// delay shows the command ran.
		return 0, len(v), true
	}
	if (w == "ls" || w == "id") && e+2 < len(lv) && lv[e] == ' ' && (lv[e+1] == '-' && lv[e+2] >= 'a' && lv[e+2] <= 'z' || lv[e+1] == '/') && strings.Count(lv, " ") <= 3 {
		// "ls -l /", "ls /etc": with an option or a path, and nothing
		// more, the command; "ls -l now aligns..." is a changelog.
		return 0, len(v), true
	}
	if windowsCommandLine(lv, w, e) {
		return 0, len(v), true
	}
	if !strongCommands[w] || w == "id" || w == "ls" || w == "pwd" {
		return 0, 0, false
	}
	if shellArg(lv, e) {
		return 0, len(v), true
	}
	return 0, 0, false
}

// startCommands are the common-word commands commandAtStart judges by
// their arguments (ping, ls, id, cmd.exe's own).
var startCommands = map[string]bool{
	"ping": true, "ls": true, "id": true, "dir": true, "type": true, "del": true, "copy": true,
	"net": true, "net.exe": true, "netsh": true, "netsh.exe": true, "reg": true, "reg.exe": true,
}

// windowsCommandLine reports a cmd.exe command line as a whole value whose
// arguments only that command takes: "dir C:\\", "net user x /add",
// "netsh firewall set ...", "reg add HKLM\\...".
func windowsCommandLine(lv, w string, e int) bool {
	if e+1 >= len(lv) || lv[e] != ' ' {
		return false
	}
	a, _ := shellWord(lv, e+1)
	rest := lv[e+1:]
	switch w {
	case "dir", "type", "del", "copy":
		return len(rest) > 2 && rest[0] >= 'a' && rest[0] <= 'z' && rest[1] == ':' && rest[2] == '\\'
	case "net", "net.exe":
		return netVerbs[a]
	case "netsh", "netsh.exe":
		return a == "firewall" || a == "advfirewall" || a == "interface" || a == "wlan" || a == "http"
	case "reg", "reg.exe":
		return (a == "add" || a == "query" || a == "delete" || a == "save" || a == "export") && strings.Contains(rest, "hk")
	}
	return false
}

// obfuscatedCommand flags a value that starts with a command's name broken
// up by quotes, backslashes or "$@" inside it ("w'h'o'am'i", "wh""oami",
// "who$@ami", "c\a\t /e\t\c/passwd"): a shell joins the pieces, and
// nothing but a filter bypass spells a word so. A program named by its
// bin/ directory ("bin/ansible", "/usr/bin/curl") counts the same.
func obfuscatedCommand(lv string) (int, bool) {
	s := strings.TrimLeft(lv, " \t@") // '@': cmd.exe's echo-off prefix
	if s == "" || (s[0] < 'a' || s[0] > 'z') && s[0] != '^' {
		return 0, false
	}
	w, e := shellWord(s, 0)
	if e == len(w) || e < 2 || !(s[e-1] >= 'a' && s[e-1] <= 'z') || !strongCommands[w] && !(weakCommands[w] && len(w) >= 3) {
		return 0, false // plain, or ending in the quote that closes a word in prose
	}
	if e < len(s) && s[e] != ' ' && s[e] != ';' && s[e] != '|' && s[e] != '&' {
		return 0, false
	}
	// A contraction breaks a word once ("I'd" is "id" to a shell): a
	// short name needs two breaks.
	if breaks := strings.Count(s[:e], "'") + strings.Count(s[:e], `"`) + strings.Count(s[:e], `\`) + strings.Count(s[:e], "$@") + strings.Count(s[:e], "^") + strings.Count(s[:e], "``"); len(w) < 4 && breaks < 2 {
		return 0, false
	}
	return len(lv) - len(s) + e, true
}

// commandAtStartAnywhere is commandAt at the start of a value for the
// shapes no text takes: wrappers around a strong command ("time sh -c
// id"), alias definitions, a cd chained to another command.
func commandAtStartAnywhere(lv string) (int, bool) {
	w, e := shellWord(lv, 0)
	if w == "cd" && shellArg(lv, e) {
		// "cd /; ..." and "cd /tmp && ...": a directory change chained
		// to the next command.
		if k := strings.IndexAny(lv[e:], ";&|"); k >= 0 {
			return e + k, true
		}
		return 0, false
	}
	if strings.HasPrefix(lv, "%comspec%") {
		w, e = "cmd", len("%comspec%") // cmd.exe through its environment variable
	}
	if e, ok := bracedWord(lv); ok {
		return e, true
	}
	if len(lv) > 0 && lv[0] == '{' {
		// "{cat,/etc/passwd}", "{ls,-la}": brace expansion as the whole
		// command, its argument a path or an option ("{cat,dog}" is a set).
		if w, e := shellWord(lv, 1); e+2 < len(lv) && lv[e] == ',' && (strongCommands[w] || weakCommands[w]) && strings.IndexByte(lv[e:], '}') > 0 {
			if a := lv[e+1]; a == '/' && (isWordByte(lv[e+2]) || strings.IndexByte(`\*?'"`, lv[e+2]) >= 0) || a == '-' && lv[e+2] >= 'a' && lv[e+2] <= 'z' {
				return e, true
			}
		}
	}
	if shellRunsArgument(lv, w, e) {
		return e, true
	}
	if !wrapperCommands[w] && w != "alias" {
		if len(lv) > 0 && lv[0] == '/' {
			return globbedCommand(lv, 0)
		}
		return 0, false
	}
	if e < len(lv) && lv[e] == ' ' && !strings.ContainsAny(lv, ";|&`$<>") {
		// "strace and ltrace output are very helpful": the wrapper named
		// in a sentence, a word and not a command after it.
		if nw, _ := shellWord(lv, e+1); nw != "" && nw[0] >= 'a' && nw[0] <= 'z' && !strongCommands[nw] && !weakCommands[nw] && !adminTools[nw] && sentenceWords(lv) >= 3 {
			return 0, false
		}
	}
	return commandAt(lv, 0, false)
}

// shellRunsArgument reports a shell told to run the command in its
// argument: "cmd.exe /c whoami", "powershell -enc ...", "sh -c id".
// bracedWord reports a value that is one word whose brace expansion is a
// command line: "{l,-lh}s" is "ls -lhs", "{id,}" is "id". The first
// expansion has to be a command and the others options or nothing, so a
// selection of fields ("{id,name}") or a word list is not one.
func bracedWord(lv string) (int, bool) {
	open := strings.IndexByte(lv, '{')
	if open < 0 || len(lv) > 40 || strings.ContainsAny(lv, " \t\n") {
		return 0, false
	}
	close := strings.IndexByte(lv[open:], '}') + open
	if close <= open || strings.IndexByte(lv[close+1:], '{') >= 0 || strings.IndexByte(lv[open+1:close], '{') >= 0 {
		return 0, false
	}
	alts := strings.Split(lv[open+1:close], ",")
	if len(alts) < 2 {
		return 0, false
	}
	first := lv[:open] + alts[0] + lv[close+1:]
	if w, e := shellWord(first, 0); e != len(first) || !strongCommands[w] && w != "id" && w != "ls" {
		return 0, false
	}
	for _, a := range alts[1:] {
		if x := a + lv[close+1:]; a != "" && (len(x) < 2 || x[0] != '-' || x[1] < 'a' || x[1] > 'z') {
			return 0, false
		}
	}
	return len(lv), true
}

func shellRunsArgument(lv, w string, e int) bool {
	if e+3 >= len(lv) || lv[e] != ' ' {
		return false
	}
	a := lv[e+1:]
	switch w {
	case "cmd", "cmd.exe":
		return (strings.HasPrefix(a, "/c ") || strings.HasPrefix(a, "/k ") || strings.HasPrefix(a, "/q /c ")) && len(a) > 3
	case "powershell", "powershell.exe", "pwsh":
		for _, o := range []string{"-c ", "-command ", "-enc ", "-e ", "-encodedcommand ", "-nop", "-noprofile", "-w hidden", "-windowstyle", "-ep ", "-exec ", "-executionpolicy"} {
			if strings.HasPrefix(a, o) {
				return true
			}
		}
	case "sh", "bash", "zsh", "dash", "ksh":
		return strings.HasPrefix(a, "-c ") && len(a) > 3 || strings.HasPrefix(a, "-i ") || a == "-i"
	case "perl", "ruby", "node", "nodejs", "lua":
		return strings.HasPrefix(a, "-e ") && len(a) > 4
	case "python", "python2", "python3":
		return strings.HasPrefix(a, "-c ") && len(a) > 4
	case "php":
		return strings.HasPrefix(a, "-r ") && len(a) > 4
	}
	return false
}

// toolAtStart flags a value whose first word is one of adminTools
// followed by nothing, an argument or a line end.
func toolAtStart(lv string) (int, bool) {
	e := 0
	for e < len(lv) && (isWordByte(lv[e]) || lv[e] == '-') {
		e++
	}
	if !adminTools[lv[:e]] {
		return 0, false
	}
	if e == len(lv) || lv[e] == ' ' || lv[e] == '\n' || lv[e] == '\r' {
		return e, true
	}
	return 0, false
}

// forLoop is cmd.exe's FOR: "for /f "delims=" %i in ('cmd') do ...".
var forLoop = regexp.MustCompile(`(?:^|[^a-z0-9_])(for\s+(?:/[dlrf]\s*(?:[a-z]:\\\S*\s+)?)*(?:\\?"[^"]*"\s+)?%%?\S{1,32}\s+in\s*\(.*?\)\s*do)(?:$|[^a-z0-9_])`)

// ifTest is cmd.exe's IF, anchored at an "if" that starts a word: on a
// file or an exit code ("if not exist c:\x cmd", "if errorlevel 1 x"), on
// a variable being defined, with cmd's comparison keywords ("if %x% equ 2
// goto y", "if not (2 equ 2) echo"), with its /I switch, or with "=="
// between operands only cmd writes: %variables%, [brackets], {braces}.
// Each form ends in the command the IF runs.
var ifTest = regexp.MustCompile(`^(if(?:\s+|\s*/i\s+)(?:not\s+)?(?:` +
	`(?:exist|errorlevel)\s+\S+\s+\S` +
	`|defined\s+\S+\s+(?:[(@]|(?:echo|set|goto|call|exit|cmd|start|del|copy|type|rem)(?:\s|$))` +
	`|\(?\s*\S+\s+(?:equ|neq|lss|leq|gtr|geq)\s+\S` +
	`|(?:"[^"]*[%!~][^"]*"|\[[^\]\s]*\]|\{[^}\s]*\}|[^\s=]*%[^\s=]*)\s*==\s*\S+(?:\s+[(@a-z.]|\s*$)))`)

// ifSwitch is cmd.exe's IF /I, which no other language writes.
var ifSwitch = regexp.MustCompile(`^(if\s*/i\s+(?:not\s+)?\S+?\s*==\s*\S+\s+\S)`)

// cmdForLoop finds a cmd.exe FOR loop in lv.
func cmdForLoop(lv string) (int, int, bool) {
	if !strings.Contains(lv, "for") || !strings.Contains(lv, "do") {
		return 0, 0, false
	}
	if m := forLoop.FindStringSubmatchIndex(lv); m != nil {
		return m[2], m[3], true
	}
	return 0, 0, false
}

// cmdIfTest finds a cmd.exe IF test in lv.
func cmdIfTest(lv string) (int, int, bool) {
	for i := range occurrences(lv, "if") {
		after := i + 2
		if i > 0 && isWordByte(lv[i-1]) || after >= len(lv) || lv[after] != ' ' && lv[after] != '\t' && lv[after] != '/' {
			continue
		}
		rest := lv[i:min(len(lv), i+256)]
		for _, re := range [...]*regexp.Regexp{ifTest, ifSwitch} {
			if m := re.FindStringSubmatchIndex(rest); m != nil {
				return i + m[2], i + m[3], true
			}
		}
	}
	return 0, 0, false
}

// commandAt reads a command word at lv[j:] and judges it.
func commandAt(lv string, j int, sub bool) (int, bool) {
	for j < len(lv) && (lv[j] == ' ' || lv[j] == '\t' || lv[j] == '{' || lv[j] == '(' || lv[j] == '!') {
		j++
	}
	if j < len(lv) && lv[j] == '/' {
		if e, ok := globbedCommand(lv, j); ok {
			return e, true
		}
	}
	w, e := shellWord(lv, j)
	if w == "" {
		return 0, false
	}
	if e+2 < len(lv) && lv[e] == ',' && (strongCommands[w] || weakCommands[w] || startCommands[w]) && cmdSeparated(lv, j) {
		// cmd.exe reads a comma as a space: "&ping,-n,10,127.0.0.1",
		// "|cmd,/c,whoami", "&dir,c:\". An option, a switch, a number or
		// a drive comes next; "id,name" is a list.
		if a := lv[e+1]; a == '-' || a == '/' || a >= '0' && a <= '9' || a >= 'a' && a <= 'z' && lv[e+2] == ':' {
			return e, true
		}
	}
	if !strongCommands[w] && !weakCommands[w] && !adminTools[w] {
		// "id\n": a literal line break escape ends the word for whatever
		// unescapes the value before a shell reads it.
		if k := escapedBreak(lv[j:e]); k > 0 {
			if w2, e2 := shellWord(lv[:j+k], j); e2 == j+k && (strongCommands[w2] || weakCommands[w2] && sub) {
				return e2, true
			}
		}
	}
	// Brace expansion spells a command and its arguments without a
	// space: "{cat,/etc/passwd}", "{ls,-la}".
	braced := j > 0 && lv[j-1] == '{' && e < len(lv) && lv[e] == ','
	if strongCommands[w] || adminTools[w] {
		// A strong command still has to look like a command: end of
		// value, an argument, a separator or a redirection next.
		if e >= len(lv) || strings.IndexByte(" \t;|&)`<>\n\r${", lv[e]) >= 0 || braced {
			return e, true
		}
		return 0, false
	}
	if wrapperCommands[w] {
		// Skip the wrapper's options and numbers ("timeout 5", "cpulimit
		// -l 100 -f") and judge the wrapped command.
		k := e
		for {
			for k < len(lv) && (lv[k] == ' ' || lv[k] == '\t') {
				k++
			}
			if k < len(lv) && (lv[k] == '-' || lv[k] >= '0' && lv[k] <= '9') {
				for k < len(lv) && lv[k] != ' ' && lv[k] != '\t' {
					k++
				}
				continue
			}
			break
		}
		if k > e {
			if w2, e2 := shellWord(lv, k); strongCommands[w2] && (e2 >= len(lv) || strings.IndexByte(" \t;|&)`<>\n\r", lv[e2]) >= 0) {
				return e2, true
			}
		}
	}
	if w == "alias" {
		// alias NAME=VALUE defines a command.
		k := e
		for k < len(lv) && lv[k] == ' ' {
			k++
		}
		for k < len(lv) && lv[k] == '-' { // alias -p, alias -gmr
			for k < len(lv) && lv[k] != ' ' {
				k++
			}
			for k < len(lv) && lv[k] == ' ' {
				k++
			}
		}
		if k > e {
			if eq := strings.IndexByte(lv[k:], '='); eq > 0 && !strings.ContainsAny(lv[k:k+eq], " \t") {
				return k + eq, true
			}
		}
	}
	if w == "net" || w == "net.exe" {
		// Windows account and share enumeration: "| net user",
		// "& net localgroup administrators".
		k := e
		for k < len(lv) && lv[k] == ' ' {
			k++
		}
		if k > e {
			if w2, e2 := shellWord(lv, k); netVerbs[w2] && (e2 >= len(lv) || strings.IndexByte(" \t;|&)`<>\n\r", lv[e2]) >= 0) {
				return e2, true
			}
		}
	}
	if w == "trap" && e+1 < len(lv) && lv[e] == ' ' && (lv[e+1] == '\'' || lv[e+1] == '"') {
		// trap 'cmd' SIGNAL: a command run when the shell gets a signal.
		return e, true
	}
	if windowsCommandLine(lv, w, e) {
		return e, true // "; reg add HKLM\...", "| netsh firewall set ..."
	}
	if weakCommands[w] {
		if sub && (e >= len(lv) || lv[e] == ')' || lv[e] == '`') || braced {
			return e, true
		}
		if w == "ps" && e < len(lv) && lv[e] == ' ' {
			// The process list: "ps aux", "ps -ef".
			if a, _ := shellWord(lv, e+1); a == "aux" || a == "-ef" || a == "-aux" || a == "axjf" || a == "-elf" {
				return e, true
			}
		}
		if sub && w == "echo" && j <= 2 && e+1 < len(lv) && lv[e] == ' ' && lv[e+1] != ' ' {
			// ";echo 111111" where the value starts: the marker a scanner
			// looks for in the response.
			return len(lv), true
		}
		if sub && (w == "echo" || w == "printf") && e < len(lv) && lv[e] == ' ' {
			// "$(printf 'id')": a substitution that builds a command.
			if k := strings.IndexAny(lv[e:], ")`"); k > 1 {
				return e + k, true
			}
		}
		if (w == "sleep" || w == "ping" || w == "timeout") && e+1 < len(lv) && lv[e] == ' ' && lv[e+1] >= '0' && lv[e+1] <= '9' {
			return e, true
		}
		if shellArg(lv, e) {
			return e, true
		}
	}
	return 0, false
}

// cmdSeparated reports whether the word at lv[j:] starts the value or
// follows one of cmd.exe's command separators, '&' and '|'.
func cmdSeparated(lv string, j int) bool {
	k := j
	for k > 0 && (lv[k-1] == ' ' || lv[k-1] == '\t') {
		k--
	}
	return k == 0 || lv[k-1] == '&' || lv[k-1] == '|'
}

// shellWord reads a command name, undoing quoting tricks (c'a't, c\at,
// c$@at) and a directory prefix (/bin/, /usr/bin/).
// globbedCommand reports a program named by a glob after a separator,
// which hides its name from word lists: ";/???/c?t /???/p??s??",
// "|/bin/ca? x". A '?' is required: a '*' after a ';' is as often a path
// in prose ("; /var/log/*.log are rotated").
func globbedCommand(lv string, j int) (int, bool) {
	e, slashes, wild := j, 0, false
	for e < len(lv) {
		c := lv[e]
		switch {
		case c == '/':
			slashes++
		case c == '?':
			wild = true
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == '*' || c == '[' || c == ']':
		default:
			goto done
		}
		e++
	}
done:
	if !wild || slashes < 2 || lv[e-1] == '/' {
		return 0, false
	}
	if lv[e-1] == '?' && strings.Count(lv[j:e], "?") == 1 {
		// A lone trailing '?' may end a question ("is it /usr/bin/env?"):
		// a command only when an option or a path follows.
		k := e
		for k < len(lv) && lv[k] == ' ' {
			k++
		}
		if k == e || k >= len(lv) || lv[k] != '/' && lv[k] != '-' {
			return 0, false
		}
	}
	if e < len(lv) && strings.IndexByte(" \t;|&)`<>\n\r$", lv[e]) < 0 {
		return 0, false
	}
	return e, true
}

func shellWord(lv string, j int) (string, int) {
	var b [32]byte
	n := 0
	e := j
	// plain stays true while the word is lv[j:e] unchanged, the common
	// case, which then needs no copy.
	plain := true
	for e < len(lv) && n < len(b) {
		ch := lv[e]
		switch {
		case ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '.' || ch == '/' || ch == '-' && n > 0:
			b[n] = ch
			n++
			e++
		case ch == '\'' || ch == '"' || ch == '\\':
			plain = false
			if ch != '\\' && e+1 < len(lv) && lv[e+1] == ch { // '' ""
				e += 2
				continue
			}
			if n == 0 && ch != '\\' {
				e++
				continue
			}
			e++
		case ch == '`' && e+1 < len(lv) && lv[e+1] == '`':
			plain = false // wh``oami: an empty substitution
			e += 2
		case ch == '^' && e+1 < len(lv) && lv[e+1] >= 'a' && lv[e+1] <= 'z' && (n > 0 || strings.Count(lv[e:min(len(lv), e+24)], "^") >= 2):
			// (a regex's "|^id$" anchors a word, once)
			plain = false // p^o^w^e^r^shell: cmd.exe's escape
			e++
		case ch == '$' && e+1 < len(lv) && (lv[e+1] == '@' || lv[e+1] == '*'):
			plain = false
			e += 2
		case ch == '$' && e+2 < len(lv) && (lv[e+1] == '(' && lv[e+2] == ')' || lv[e+1] == '{' && lv[e+2] == '}'):
			plain = false // who$()ami: an empty substitution
			e += 3
		default:
			goto done
		}
	}
done:
	var w string
	if plain {
		w = lv[j : j+n]
	} else {
		w = string(b[:n])
	}
	if k := strings.LastIndexByte(w, '/'); k >= 0 {
		w = w[k+1:]
	}
	return w, e
}

// shellArg reports whether lv[e:] starts with an argument only a shell
// command would take: an option, a path, a redirection, a variable, an
// address.
func shellArg(lv string, e int) bool {
	if e >= len(lv) {
		return false
	}
	if lv[e] == '>' || lv[e] == '<' || lv[e] == '|' {
		return true
	}
	if lv[e] != ' ' && lv[e] != '\t' && lv[e] != '$' {
		return false
	}
	for e < len(lv) && (lv[e] == ' ' || lv[e] == '\t') {
		e++
	}
	if e >= len(lv) {
		return false
	}
	rest := lv[e:]
	switch {
	case rest[0] == '-' && len(rest) > 1 && (rest[1] >= 'a' && rest[1] <= 'z' || rest[1] == '-'):
		return true
	case rest[0] == '/' && (len(rest) == 1 || isWordByte(rest[1]) || strings.IndexByte(" *;&|", rest[1]) >= 0):
		return true
	case strings.HasPrefix(rest, "./") || strings.HasPrefix(rest, "../") || strings.HasPrefix(rest, "~/"):
		return true
	case rest[0] == '$' || rest[0] == '>' || rest[0] == '`':
		return true
	case rest[0] == '\\' && escapedPath(rest):
		return true // "\/\e\t\c/\p\a\s\s\w\d": a shell reads "\/" as "/"
	case len(rest) > 2 && rest[1] == ':' && rest[2] == '\\':
		return true
	case strings.HasPrefix(rest, "http://") || strings.HasPrefix(rest, "https://"):
		return true
	}
	// An IP address: "ping 10.0.0.1".
	dots, digits := 0, 0
	for i := 0; i < len(rest) && rest[i] != ' '; i++ {
		switch {
		case rest[i] == '.':
			dots++
		case rest[i] >= '0' && rest[i] <= '9':
			digits++
		default:
			return false
		}
	}
	return dots == 3 && digits >= 4
}

// escapedPath reports whether s starts with an absolute path whose bytes
// are escaped with backslashes, once or twice ("\\/\\e\\t\\c/"): at least
// two of its first letters escaped, so a lone "\\/" is not enough.
func escapedPath(s string) bool {
	k := 0
	for k < len(s) && s[k] == '\\' {
		k++
	}
	if k == 0 || k > 2 || k >= len(s) || s[k] != '/' {
		return false
	}
	escaped := 0
	for i := k + 1; i+1 < len(s) && i < k+24 && s[i] != ' '; i++ {
		if s[i] == '\\' && s[i+1] >= 'a' && s[i+1] <= 'z' {
			escaped++
		}
	}
	return escaped >= 2
}

// Code injection into an interpreter the application embeds: PHP, Python,
// Node, Java, Ruby. Only calls that execute commands or code count, not
// the mere sight of code.
var codeCalls = []string{
	"system(", "exec(", "eval(", "shell_exec(", "passthru(", "popen(", "proc_open(", "pcntl_exec(",
	"assert(", "create_function(", "call_user_func(", "preg_replace(",
	"__import__(", "os.system(", "os.popen(", "subprocess.popen(", "subprocess.call(", "subprocess.run(",
	"subprocess.check_output(", "subprocess.getoutput(", "child_process')", "child_process\")", "child_process`)",
	"child_process.exec", "child_process.spawn", "process.mainmodule",
	"runtime.getruntime(", "processbuilder(", "getruntime().exec", "io.popen(", "kernel.exec",
	"require('child_process')", "eval(base64_decode", "eval(gzinflate", "eval(str_rot13",
	"base64_decode(", "file_put_contents(", "fwrite(fopen(", "phpinfo()", "phpversion()", "php_uname(", "eval($_", "assert($_",
	"system($_", "include($_", "require($_", "${@eval(", "{${system(", "{${phpinfo(",
}

func checkCodeInjection(v, lv string, f Features, c *Context) (int, int, bool) {
	if f&(fParen|fLT|fDollar) == 0 {
		return 0, 0, false
	}
	if f&fLT != 0 {
		if i, ok := phpOpenTag(lv); ok {
			return i, len(v), true
		}
	}
	if f&fDollar != 0 && f&fBrace != 0 {
		for _, g := range [...]string{"{$_get[", "{$_post[", "{$_request[", "{$_cookie[", "{$_server[", "{$_files[", "{$_env["} {
			if i := strings.Index(lv, g); i >= 0 {
				return i, i + len(g), true // a superglobal in a string PHP evaluates
			}
		}
	}
	if f&fDollar != 0 && f&(fBracket|fEq) != 0 && !isProse(lv) {
		// "$_SERVER['x'];", "$_COOKIE=1;": PHP's request superglobals read
		// or written in code put into a value. A post explaining them is
		// prose.
		for _, g := range [...]string{"$_get", "$_post", "$_request", "$_cookie", "$_server", "$_files", "$_env", "$_session", "$globals"} {
			i := strings.Index(lv, g)
			if i < 0 {
				continue
			}
			rest := strings.TrimLeft(lv[i+len(g):], " ")
			if strings.HasPrefix(rest, "[") || strings.HasPrefix(rest, "=") && !strings.HasPrefix(rest, "==") {
				return i, i + len(g), true
			}
		}
	}
	if f&fParen == 0 {
		return 0, 0, false
	}
	if f&fQuote != 0 {
		if i, e, ok := quotedCallee(lv); ok {
			return i, e, true
		}
		if i, e, ok := concatenatedExecName(lv); ok {
			return i, e, true
		}
	}
	if i, e, ok := execCall(lv); ok {
		return i, e, true
	}
	if i, e, ok := phpRiskyCall(lv); ok {
		return i, e, true
	}
	if i, ok := aspCode(lv); ok {
		return i, len(v), true
	}
	// "{${sleep(10)}}", "${@print(md5(1))}": PHP's complex syntax calls
	// what it names inside a string, the '@' silencing its errors.
	for _, open := range [...]string{"{${", "${@"} {
		i := strings.Index(lv, open)
		if i < 0 {
			continue
		}
		w := i + len(open)
		for w < len(lv) && (isWordByte(lv[w]) || lv[w] == '_') {
			w++
		}
		if w > i+len(open) && w < len(lv) && lv[w] == '(' {
			return i, w + 1, true
		}
	}
	var start, end int
	found := codeCallSet.each(lv, func(e, i int) bool {
		call := codeCalls[e]
		if i > 0 && isWordByte(lv[i-1]) && !strings.HasPrefix(call, "_") {
			return false // "filesystem(" is not "system(", nor "hisi_sas_task_exec(" "exec("
		}
		if args := i + len(call); i > 0 && lv[i-1] == '`' && (strings.HasSuffix(call, "(") && documentedCall(lv, i, args) || args < len(lv) && lv[args] == '(' && documentedCall(lv, i, args+1)) {
			return false // "[`child_process.spawn()`][]": named in documentation
		}
		rest := lv[i+len(call):]
		// The argument must be something an attacker controls: a string,
		// a variable, a call, a concatenation, not prose in parentheses.
		if strings.HasSuffix(call, "(") {
			rest = strings.TrimLeft(rest, " ")
			if rest == "" || strings.IndexByte("'\"$`[", rest[0]) < 0 && !strings.HasPrefix(rest, "base64_decode") && !strings.HasPrefix(rest, "chr(") && !strings.HasPrefix(rest, "string.fromcharcode") && !strings.HasPrefix(rest, "atob(") && !strings.HasPrefix(rest, "unescape(") && !strings.HasPrefix(rest, "str_rot13") && !strings.HasPrefix(rest, ")") {
				return false
			}
			// An empty call then words is a name in a sentence ("eval()
			// in python"); "phpinfo();" and "phpinfo()" end in code.
			if after := strings.TrimLeft(rest[min(1, len(rest)):], "`'\"*_]"); rest[0] == ')' && len(after) > 1 && after[0] == ' ' && after[1] >= 'a' && after[1] <= 'z' {
				return false // and "`popen()` is not available": quoted or marked up
			}
		}
		start, end = i, i+len(call)
		return true
	})
	return start, end, found
}

var codeCallSet = newSubstrings(codeCalls)

// aspCode finds classic ASP (VBScript) code of a web shell: one of the
// calls that run what a request brings (execute request(...), eval
// request, WScript.Shell), or two of the statements its droppers string
// together (On Error Resume Next, Execute(, Response.Write(,
// Server.CreateObject(, ...). Names split into concatenated literals,
// "Ex"&"e"&"cute(", are joined first.
func aspCode(lv string) (int, bool) {
	s := lv
	if strings.Contains(s, `"&"`) {
		s = strings.ReplaceAll(s, `"&"`, "")
	}
	n, first, strong := 0, -1, false
	aspMarkerSet.each(s, func(e, i int) bool {
		if e < aspStrongMarkers {
			first, strong = i, true
			return true
		}
		if i > 0 && (isWordByte(s[i-1]) || s[i-1] == '.' && aspMarkers[e] == "createobject(") {
			return false // "Server.CreateObject(" is one marker, not two
		}
		if i > 0 && s[i-1] == '`' {
			return false // "[`response.write()`][]": Markdown code, never VBScript
		}
		if n++; first < 0 || i < first {
			first = i
		}
		return n >= 2
	})
	if strong || n >= 2 {
		return min(first, len(lv)), true
	}
	return 0, false
}

// aspMarkers are the calls aspCode looks for: the first aspStrongMarkers
// count alone, the others in pairs.
var aspMarkers = []string{
	"wscript.shell", "execute request(", "execute(request(", "eval request(", "eval(request(", "executeglobal request(", "executeglobal(request(",
	"on error resume next", "execute(", "executeglobal(", "response.write(", "response.end", "server.createobject(", "createobject(", "server.scripttimeout",
}

const aspStrongMarkers = 7

var aspMarkerSet = newSubstrings(aspMarkers)

// phpRiskyFuncs are PHP functions a web shell or an injected payload
// calls and an application never takes from a request: decoders that
// unwrap an obfuscated payload, process and socket functions, callbacks,
// and the introspection an attacker probes with. Their names are
// identifiers, not words, so a call of one is code whatever its argument.
var phpRiskyFuncs = []string{
	"base64_decode", "gzinflate", "gzuncompress", "gzdecode", "str_rot13", "bzdecompress", "zlib_decode",
	"convert_uudecode", "shell_exec", "proc_open", "pcntl_exec", "pcntl_fork", "passthru", "call_user_func",
	"call_user_method", "create_function", "assert_options", "fsockopen", "pfsockopen", "stream_socket_client",
	"posix_getpwuid", "posix_getuid", "posix_getcwd", "posix_kill", "posix_setuid", "posix_mkfifo", "posix_uname",
	"get_defined_vars", "get_defined_functions", "get_defined_constants", "get_class_methods", "get_class_vars",
	"phpinfo", "php_uname", "unserialize", "file_put_contents", "file_get_contents", "move_uploaded_file",
	"highlight_file", "show_source", "ini_get_all", "ini_restore", "set_include_path",
	"register_shutdown_function", "register_tick_function", "mb_ereg_replace", "apache_setenv",
	"sys_get_temp_dir", "wp_remote_get", "wp_remote_post", "wp_remote_fopen", "forward_static_call",
	"preg_replace_callback_array", "__halt_compiler",
}

var phpRiskyCallSet = newSubstrings(phpRiskyFuncs)

// phpRiskyCall finds a call of one of phpRiskyFuncs: the name as a whole
// identifier (not a method, not $variable), spaces or a comment, then '('.
// "unserialize() is unsafe" names the function in a sentence: an empty
// call followed by a word is prose.
func phpRiskyCall(lv string) (int, int, bool) {
	var start, end int
	found := phpRiskyCallSet.each(lv, func(e, i int) bool {
		name := phpRiskyFuncs[e]
		if i > 0 && (isWordByte(lv[i-1]) || lv[i-1] == '_' || lv[i-1] == '$' || lv[i-1] == '>' || lv[i-1] == ':' || lv[i-1] == '.' && i > 1 && isWordByte(lv[i-2])) {
			return false
		}
		j := i + len(name)
		if j < len(lv) && (isWordByte(lv[j]) || lv[j] == '_') {
			return false
		}
		for j < len(lv) && (lv[j] == ' ' || lv[j] == '\t' || lv[j] == '\n' || lv[j] == '\r') {
			j++
		}
		if strings.HasPrefix(lv[j:], "/*") {
			if k := strings.Index(lv[j+2:], "*/"); k >= 0 {
				j += 2 + k + 2
				for j < len(lv) && (lv[j] == ' ' || lv[j] == '\t') {
					j++
				}
			}
		}
		if j >= len(lv) || lv[j] != '(' {
			return false
		}
		if rest := lv[j+1:]; strings.HasPrefix(rest, ") ") && len(rest) > 2 && rest[2] >= 'a' && rest[2] <= 'z' {
			return false
		}
		start, end = i, j+1
		return true
	})
	return start, end, found
}

// phpOpenTag finds a PHP open tag followed by code: "<?php" with a
// statement, a call or a variable after it, "<?=" with an expression, or
// the short "<? " with a statement. "<?xml" and "<?php" alone are not code.
func phpOpenTag(lv string) (int, bool) {
	for i := range occurrences(lv, "<?") {
		rest := lv[i+2:]
		switch {
		case strings.HasPrefix(rest, "php"):
			rest = rest[3:]
			if strings.ContainsAny(rest, "($") {
				return i, true
			}
			if len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\n' || rest[0] == '\r') {
				if w := strings.TrimLeft(rest, " \t\r\n"); phpStatement(w) {
					return i, true
				}
			}
		case strings.HasPrefix(rest, "="):
			// "<?= $x", "<?= 'text'", "<?=1;": the short echo of an
			// expression.
			if w := strings.TrimLeft(rest[1:], " \t"); w != "" && (strings.ContainsAny(w, "($`") || phpStatement(w) || strings.IndexByte("'\"0123456789", w[0]) >= 0) {
				return i, true
			}
		case len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\n'):
			w := strings.TrimLeft(rest, " \t\r\n")
			if strings.HasPrefix(w, "php") && len(w) > 3 && (w[3] == ' ' || w[3] == '\t' || w[3] == '\n') {
				w = strings.TrimLeft(w[3:], " \t\r\n") // "<? php echo": parsers that skip the space
			}
			if phpStatement(w) || len(w) > 0 && w[0] == '$' {
				return i, true
			}
		}
	}
	return 0, false
}

// phpStatement reports whether s starts with a PHP statement keyword and
// an argument.
func phpStatement(s string) bool {
	for _, kw := range []string{"echo", "print", "system", "eval", "exec", "include", "require", "passthru", "die", "exit", "fputs", "fwrite", "file_put_contents"} {
		if strings.HasPrefix(s, kw) && len(s) > len(kw) && strings.IndexByte(" \t(\"'$`", s[len(kw)]) >= 0 {
			return true
		}
	}
	return false
}

// quotedCallee finds a function called by its name as a string, which
// PHP allows and filters on names miss: "system"(ls), ('sys'.'tem')('id'),
// (string)"sys"."tem"('uname').
func quotedCallee(lv string) (int, int, bool) {
	for p := range byteOccurrences(lv, '(') {
		j := p
		for j > 0 && (lv[j-1] == ' ' || lv[j-1] == '\t') {
			j--
		}
		closedParen := false
		if j > 0 && lv[j-1] == ')' {
			// ("sys"."tem")(...): the callee is a parenthesized expression.
			closedParen = true
			j--
		}
		if j == 0 || lv[j-1] != '"' && lv[j-1] != '\'' {
			continue
		}
		// Walk back over the quoted parts and the '.' joining them.
		name := make([]byte, 0, 24)
		parts, e := 0, j
		for e > 0 && (lv[e-1] == '"' || lv[e-1] == '\'') && parts < 8 {
			q := lv[e-1]
			b := strings.LastIndexByte(lv[:e-1], q)
			if b < 0 {
				break
			}
			name = append(append([]byte{}, lv[b+1:e-1]...), name...)
			parts++
			e = b
			for e > 0 && (lv[e-1] == ' ' || lv[e-1] == '.') {
				e--
			}
		}
		if parts == 0 || len(name) > 20 {
			continue
		}
		if closedParen {
			// The parenthesis groups the callee, and is not a call's:
			// "require('assert') (Rod Vagg)" names a module.
			o := e
			for o > 0 && (lv[o-1] == ' ' || lv[o-1] == '\t') {
				o--
			}
			if o == 0 || lv[o-1] != '(' || o > 1 && isWordByte(lv[o-2]) {
				continue
			}
		}
		if !phpExecFuncs[string(name)] || p > j && !closedParen && parts == 1 {
			continue // `"system" (loudly)` is prose; `"sys"."tem" (` is not
		}
		if parts == 1 && !closedParen {
			// `"exec"(ls);` as a whole statement, not `"exec"(the team)`.
			c := closingParenByte(lv, p)
			if c < 0 || strings.TrimLeft(lv[c+1:], " ") != "" && lv[c+1] != ';' {
				continue
			}
		}
		return e, p + 1, true
	}
	return 0, 0, false
}

// concatenatedExecName finds the name of a PHP function that runs code
// or commands spelled out of two or more string literals joined with '.',
// "'sys' . 'tem'", "\"sys\".\"t\".\"em\"": kept in a constant or an array
// to be called later, nothing but a filter bypass writes a name so.
func concatenatedExecName(lv string) (int, int, bool) {
	for _, q := range [...]byte{'\'', '"'} {
		for i := range byteOccurrences(lv, q) {
			if i > 0 && (lv[i-1] == q || isWordByte(lv[i-1])) {
				continue // the closing quote of a literal, or a quote in a word
			}
			var name []byte
			parts, e := 0, i
			for parts < 8 && e < len(lv) && (lv[e] == '\'' || lv[e] == '"') {
				c := strings.IndexByte(lv[e+1:], lv[e])
				if c < 0 || c > 20 {
					break
				}
				name = append(name, lv[e+1:e+1+c]...)
				parts++
				e += c + 2
				k := e
				for k < len(lv) && lv[k] == ' ' {
					k++
				}
				if k >= len(lv) || lv[k] != '.' {
					break
				}
				for k++; k < len(lv) && lv[k] == ' '; k++ {
				}
				e = k
			}
			if parts >= 2 && phpExecFuncs[string(name)] {
				return i, e, true
			}
		}
	}
	return 0, 0, false
}

// nodeGlobal finds Node.js's process and module objects reached from a
// value an application evaluates: "process.env" or "process['mainModule']"
// as the whole value, and the native bindings anywhere
// ("#{process.binding('spawn_sync')}").
func checkNodeGlobal(v, lv string, f Features, c *Context) (int, int, bool) {
	if f&(fDot|fBracket) != 0 {
		if i, ok := nodeGlobal(lv); ok {
			return i, len(v), true
		}
	}
	if f&fParen != 0 && busyLoop(lv) {
		return 0, len(v), true
	}
	return 0, 0, false
}

// busyLoop reports a value that is nothing but a loop that never ends,
// "while(true);", "while(!0){}", "for(;;);": given to a server that
// evaluates it (a $where, a Node vm), it takes the event loop down.
func busyLoop(lv string) bool {
	s := strings.TrimSpace(lv)
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(strings.TrimSuffix(s, ";")), "{}"))
	if strings.HasPrefix(s, "for") && strings.ReplaceAll(s, " ", "") == "for(;;)" {
		return true
	}
	rest, ok := strings.CutPrefix(s, "while")
	rest = strings.TrimLeft(rest, " \t")
	if !ok || len(rest) < 3 || rest[0] != '(' || rest[len(rest)-1] != ')' || len(rest) > 26 {
		return false
	}
	// The condition is a constant: operators, numbers, literals.
	cond := rest[1 : len(rest)-1]
	for _, w := range [...]string{"true", "false", "this", "undefined", "nan", "infinity", "new date", "null"} {
		cond = strings.ReplaceAll(cond, w, "")
	}
	return strings.Trim(cond, "!+-~0123456789 '\"`{}[]()") == ""
}

func nodeGlobal(lv string) (int, bool) {
	for i := range occurrences(lv, "process.") {
		after := i + len("process.")
		rest := lv[after:]
		for _, fn := range [...]string{"binding(", "dlopen(", "kill(", "chdir(", "setuid("} {
			if strings.HasPrefix(rest, fn) && !documentedCall(lv, i, after+len(fn)) {
				return i, true
			}
		}
	}
	s := strings.TrimLeft(lv, " \t({")
	if s == "" || strings.IndexByte("prmgt", s[0]) < 0 {
		return 0, false
	}
	for _, p := range [...]string{"process.env", "process[", "require[", "module.exports", "global.process", "globalthis.process", "this.constructor.constructor"} {
		if strings.HasPrefix(s, p) {
			rest := s[len(p):]
			if rest == "" || strings.IndexByte(".[='\"(\n\r", rest[0]) >= 0 || p[len(p)-1] == '[' {
				return len(lv) - len(s), true
			}
		}
	}
	return 0, false
}

// documentedCall reports whether the call lv[at:] whose arguments start
// at args is a function named in documentation, not made: quoted as
// Markdown code ("`process.kill()`", inert as a template literal too), or
// a signature with optional parameters ("process.kill(pid[, signal])"),
// names and brackets only.
func documentedCall(lv string, at, args int) bool {
	// A signature is short: the search is bounded, or a value of many
	// unclosed calls would be read to its end from each.
	end := strings.IndexByte(lv[args:min(len(lv), args+256)], ')')
	if end < 0 {
		return false
	}
	if sig := lv[args : args+end]; strings.Contains(sig, "[,") && strings.Trim(sig, "abcdefghijklmnopqrstuvwxyz0123456789_ ,[]") == "" {
		return true // parameter names only: "exec('id'/*[,*/)" is a call
	}
	after := args + end + 1
	return at > 0 && lv[at-1] == '`' && after < len(lv) && lv[after] == '`'
}

// execCall finds a call of one of phpExecFuncs written the ways a filter on
// "system(" misses: with spaces, a line break or a comment before the '('
// ("exec /*x*/ ('id')"), or with the name in parentheses ("(system)('id')",
// "(sy.(st).em)('id')"). The argument must be a string or a variable, or,
// when a comment hid the call, anything ("I will exec\n(the plan)" is
// prose); a bare command name counts in the plain form too:
// "system(whoami)".
func execCall(lv string) (int, int, bool) {
	for p := range byteOccurrences(lv, '(') {
		arg := strings.TrimLeft(lv[p+1:], " \t")
		quotedArg := arg != "" && strings.IndexByte("'\"$", arg[0]) >= 0
		// Walk back over spaces and comments to the callee.
		j, hidden, commented := p, false, false
		for j > 0 {
			switch c := lv[j-1]; {
			case c == ' ' || c == '\t':
				j--
				continue
			case c == '\n' || c == '\r':
				hidden = true
				j--
				// A line comment ends at this break: skip back over it.
				b := strings.LastIndexAny(lv[:j], "\n\r")
				line := lv[b+1 : j]
				if k := strings.Index(line, "//"); k >= 0 {
					j, commented = b+1+k, true
				} else if k := strings.IndexByte(line, '#'); k >= 0 {
					j, commented = b+1+k, true
				}
				continue
			case c == '/' && j > 1 && lv[j-2] == '*':
				// The opening within 256 bytes: searching the whole prefix
				// from every '(' is quadratic ("(*/(*/(*/...").
				lo := max(0, j-2-256)
				if b := strings.LastIndex(lv[lo:j-2], "/*"); b >= 0 {
					b += lo
					hidden, commented = true, true
					j = b
					continue
				}
			}
			break
		}
		var name string
		parens := false
		// Indexes into an array holding the name: "[system][0](ls)".
		for j > 2 && lv[j-1] == ']' && lv[j-2] >= '0' && lv[j-2] <= '9' {
			b := strings.LastIndexByte(lv[:j-1], '[')
			if b < 0 || strings.Trim(lv[b+1:j-1], "0123456789 ") != "" {
				break
			}
			j = b
			for j > 0 && lv[j-1] == ' ' {
				j--
			}
		}
		if j > 0 && (lv[j-1] == ')' || lv[j-1] == ']') {
			// "(sy.(st).em)", "(/*x*/system)", "(['system'])": the name
			// spelled inside parentheses or brackets.
			open := openingByte(lv, j-1)
			if open < 0 || j-1-open > 60 {
				continue
			}
			inner := withoutComments(lv[open+1 : j-1])
			name = strings.Map(func(r rune) rune {
				if strings.ContainsRune("()[].'\" \t", r) {
					return -1
				}
				return r
			}, inner)
			parens, j = true, open
		} else {
			e := j
			for j > 0 && (isWordByte(lv[j-1]) || lv[j-1] == '_') {
				j--
			}
			if j > 0 && lv[j-1] == '$' || j == e {
				continue
			}
			name = lv[j:e]
		}
		if !phpExecFuncs[name] {
			continue
		}
		switch {
		case quotedArg && (hidden || parens || p > j+len(name)):
		case parens && (lv[p-1] == ')' || lv[p-1] == ']') && commandArg(withoutComments(arg)):
		case commented && arg != "":
		case !parens && !hidden && p == j+len(name) && commandArg(arg):
		default:
			continue
		}
		return j, p + 1, true
	}
	return 0, 0, false
}

// commandArg reports whether s starts with a strong command's name closed
// by the call's ')': "whoami)".
func commandArg(s string) bool {
	w, e := shellWord(s, 0)
	return strongCommands[w] && e < len(s) && (s[e] == ')' || s[e] == ' ')
}

// withoutComments returns s without its /* */ comments.
func withoutComments(s string) string {
	for {
		b := strings.Index(s, "/*")
		if b < 0 {
			return s
		}
		e := strings.Index(s[b+2:], "*/")
		if e < 0 {
			return s
		}
		s = s[:b] + s[b+2+e+2:]
	}
}

// openingByte returns the index of the '(' or '[' opening the ')' or ']'
// at lv[close], or -1.
func openingByte(lv string, close int) int {
	o, c := byte('('), byte(')')
	if lv[close] == ']' {
		o, c = '[', ']'
	}
	depth := 0
	for i := close; i >= 0; i-- {
		switch lv[i] {
		case c:
			depth++
		case o:
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// closingParenByte returns the index of the ')' closing the '(' at
// lv[open], or -1.
func closingParenByte(lv string, open int) int {
	depth := 0
	for i := open; i < len(lv); i++ {
		switch lv[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// phpExecFuncs are the PHP functions that run commands or code.
var phpExecFuncs = map[string]bool{
	"system": true, "exec": true, "shell_exec": true, "passthru": true, "popen": true, "proc_open": true,
	"pcntl_exec": true, "assert": true, "eval": true, "create_function": true, "call_user_func": true,
	"phpinfo": true, "file_put_contents": true, "base64_decode": true,
}

// javaGadgets are the classes Java deserialization and expression-language
// exploits name to reach a process: commons-collections transformers, the
// Xalan TemplatesImpl sink, the runtime and process classes by their full
// names. A Java application never receives them as data.
var javaGadgets = []string{
	"invokertransformer", "instantiatetransformer", "chainedtransformer", "constanttransformer",
	"clonetransformer", "instantiatefactory", "templatesimpl", "com.sun.org.apache",
	"java.lang.runtime", "java.lang.processbuilder", "processbuilder.", "java.lang.reflect.",
	"javax.script.scriptengine", "org.apache.commons.collections", "java.rmi.server", "sun.rmi.",
	"ysoserial", "javax.naming.initialcontext", "java.beans.xmldecoder", "org.codehaus.groovy.runtime",
	"com.sun.rowset.jdbcrowsetimpl", "bsh.interpreter", "clojure.main", "java.lang.unixprocess",
	"com.opensymphony.xwork2.", "org.apache.struts2.", "java.lang.classloader", "java.net.urlclassloader",
}

var javaGadgetSet = newSubstrings(javaGadgets)

func checkJavaGadget(v, lv string, f Features, c *Context) (int, int, bool) {
	if javaSerialized(v) {
		return 0, len(v), true
	}
	found := false
	var start, end int
	javaGadgetSet.each(lv, func(e, i int) bool {
		g := javaGadgets[e]
		// The class itself, not one named after it:
		// "java.lang.RuntimeException" is what a stack trace shows.
		if k := i + len(g); g[len(g)-1] != '.' && k < len(lv) && lv[k] >= 'a' && lv[k] <= 'z' {
			return false
		}
		found, start, end = true, i, i+len(g)
		return true
	})
	if found {
		return start, end, true
	}
	if f&fDot != 0 && javaClassName(lv) {
		return 0, len(v), true
	}
	return 0, 0, false
}

// dotNetGadgets are the .NET types ysoserial.net's gadgets are built on,
// by their full names: what a type hint ("$type", "__type",
// "<ObjectDataProvider") in JSON, XAML or a ViewState names to have a
// deserializer start a process. An application's own types are in its own
// namespaces; these are the framework's, and no form sends them.
var dotNetGadgets = []string{
	"system.windows.data.objectdataprovider", "system.windows.markup.xamlreader", "system.windows.resourcedictionary",
	"system.configuration.install.assemblyinstaller", "system.activities.presentation.workflowdesigner",
	"system.windows.forms.bindingsource", "system.windows.forms.axhost", "system.security.principal.windowsidentity",
	"system.security.principal.windowsprincipal", "system.security.claims.claimsidentity", "system.security.claims.claimsprincipal",
	"system.identitymodel.tokens.sessionsecuritytoken", "system.data.services.internal.expandedwrapper",
	"system.management.automation.psobject", "system.web.security.roleprincipal", "system.web.ui.objectstateformatter",
	"microsoft.visualstudio.text.formatting.textformattingrunproperties", "system.runtime.serialization.formatters.binary.binaryformatter",
	"system.diagnostics.processstartinfo",
}

var dotNetGadgetSet = newSubstrings(dotNetGadgets)

// checkDotNetGadget finds a .NET deserialization payload: a gadget type
// named by its full name, or a BinaryFormatter stream in base64
// ("AAEAAAD/////", its header) in a value a server may deserialize.
func checkDotNetGadget(v, lv string, f Features, c *Context) (int, int, bool) {
	if f&fSlash != 0 {
		if i := strings.Index(v, "AAEAAAD/////"); i >= 0 && i < 8 {
			return i, len(v), true
		}
	}
	var start, end int
	found := dotNetGadgetSet.each(lv, func(e, i int) bool {
		if i > 0 && (isWordByte(lv[i-1]) || lv[i-1] == '.') {
			return false
		}
		start, end = i, i+len(dotNetGadgets[e])
		return true
	})
	return start, end, found
}

// javaSerialized reports whether v is a Java serialized object stream
// (magic 0xACED, version 5) in base64, "rO0AB...": what a deserialization
// exploit posts in a cookie, a ViewState or a parameter; its class names
// are binary-framed and decode to no text.
func javaSerialized(v string) bool {
	s := strings.TrimLeft(v, " \t\"'")
	return len(s) >= 16 && strings.HasPrefix(s, "rO0AB")
}

// javaPackages are the packages whose classes an attacker names to have a
// Java application load or instantiate them: through a Struts/OGNL class
// parameter, a polymorphic deserializer's type field, a reflective lookup.
var javaPackages = []string{
	"java.io.", "java.lang.", "java.net.", "java.nio.", "java.beans.", "java.rmi.", "javax.script.",
	"javax.naming.", "javax.management.", "org.apache.commons.", "org.apache.struts", "org.apache.xalan",
	"org.apache.xbean.", "org.springframework.", "com.opensymphony.", "org.omg.corba", "com.sun.", "sun.misc.",
	"org.codehaus.groovy", "ognl.",
}

// javaClassName reports whether a whole value (or key) is a fully
// qualified class name in one of javaPackages: nothing but the name, which
// a form field or cookie holds only when someone wants it loaded. A name
// among words ("java.io.File throws here") is prose, and exception and
// error classes are what applications log and users paste.
func javaClassName(lv string) bool {
	s := strings.Trim(lv, " \t\r\n\"'")
	if len(s) < 8 || len(s) > 200 || strings.IndexByte("jocs", s[0]) < 0 {
		return false
	}
	found := slices.ContainsFunc(javaPackages, func(p string) bool {
		return strings.HasPrefix(s, p) || s == strings.TrimSuffix(p, ".")
	})
	// "java.Runtime": not a real class, but what a filter that looks for
	// java.lang.Runtime misses and a lenient class loader may resolve.
	if !found && !(strings.HasPrefix(s, "java") && (strings.HasSuffix(s, ".runtime") || strings.HasSuffix(s, ".processbuilder"))) {
		return false
	}
	segStart := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if i == segStart {
				return false // "java..x" or a trailing dot
			}
			segStart = i + 1
			continue
		}
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '$') {
			return false
		}
	}
	last := s[strings.LastIndexByte(s, '.')+1:]
	return !strings.HasSuffix(last, "exception") && !strings.HasSuffix(last, "error")
}

// executableExts are file name extensions a web server may execute.
var executableExts = []string{
	".php", ".php3", ".php4", ".php5", ".php7", ".phtml", ".phar", ".pht", ".phps", ".jsp", ".jspx",
	".jsw", ".jsv", ".jspf", ".asp", ".aspx", ".asa", ".asax", ".ascx", ".ashx", ".asmx", ".cer",
	".cgi", ".shtml", ".htaccess", ".war", ".cfm", ".cfml", ".pl", ".exe", ".sh", ".bat", ".cmd", ".ps1",
}

// checkUpload flags a multipart file name that a web server would run.
func checkUpload(v, lv string, f Features, c *Context) (int, int, bool) {
	if c.Where != InFilename {
		return 0, 0, false
	}
	name := strings.TrimRight(lv, ". \x00")
	if strings.Contains(name, ". ") { // "shell. jspx": some servers trim the space
		name = strings.ReplaceAll(name, ". ", ".")
	}
	if i := strings.IndexByte(name, 0); i >= 0 { // shell.php\x00.jpg
		name = name[:i]
	}
	for _, ext := range executableExts {
		if strings.HasSuffix(name, ext) || strings.Contains(name, ext+".") || strings.Contains(name, ext+";") {
			return 0, len(v), true
		}
	}
	if i := strings.LastIndex(name, ".php"); i >= 0 && strings.Trim(name[i+4:], "0123456789") == "" {
		return 0, len(v), true // ".php56", ".php907": handlers map php followed by a version
	}
	base := name[strings.LastIndexAny(name, `/\`)+1:]
	// PHP's session files ("sess_<id>"), written over to have the session
	// handler unserialize a payload, and the configuration files servers
	// and tools read from the directory they sit in.
	if strings.HasPrefix(base, "sess_") && len(base) >= 5+20 && strings.Trim(base[5:], "abcdefghijklmnopqrstuvwxyz0123456789,-") == "" {
		return 0, len(v), true
	}
	switch base {
	case ".user.ini", "web.config", ".boto", ".bashrc", ".bash_profile", ".profile", ".npmrc", ".pypirc", ".netrc", "authorized_keys":
		return 0, len(v), true
	}
	return 0, 0, false
}

// phpObject is a PHP serialized object, what unserialize() turns into a
// live instance whose magic methods run: O:8:"stdClass":1:{...}.
var phpObject = regexp.MustCompile(`(?:^|[^a-z0-9])[oc]:\+?\d+:"[a-z_\\][a-z0-9_\\]*":\d+:\{`)

// checkSerialized finds objects an application would deserialize into
// code: PHP serialized objects, node-serialize functions, and the
// constructor chain that reaches Function from any JS object.
func checkSerialized(v, lv string, f Features, c *Context) (int, int, bool) {
	if i := containsAny(lv, "!!python/object", "!!python/name", "!!python/module", "!ruby/object", "!ruby/hash", "!!javax.script", "!!com.sun.rowset", "!!java.net.url"); i >= 0 {
		// YAML tags that make a loader instantiate a class or call a
		// function (PyYAML's unsafe load, Psych, SnakeYAML).
		return i, len(v), true
	}
	if f&fColon != 0 && f&fBrace != 0 && f&fQuote != 0 {
		if m := phpObject.FindStringIndex(lv); m != nil {
			return m[0], m[1], true
		}
	}
	if i := strings.Index(lv, "_$$nd_func$$_"); i >= 0 {
		return i, i + 13, true
	}
	if i := strings.Index(lv, "constructor.constructor"); i >= 0 {
		return i, i + 23, true
	}
	return 0, 0, false
}

// checkVarCall finds PHP calls through a variable or an expression that
// names the function, the shape of obfuscated webshells: $f(1),
// $__[o](4), ${@a}(10), $$$z(29), $foo->$name().
func checkVarCall(v, lv string, f Features, c *Context) (int, int, bool) {
	for i := 0; i < len(lv); i++ {
		if lv[i] != '$' || i > 0 && (isWordByte(lv[i-1]) || lv[i-1] == '.' || lv[i-1] == '$') {
			continue
		}
		j := i
		for j < len(lv) && lv[j] == '$' {
			j++
		}
		if j < len(lv) && lv[j] == '{' {
			// ${'a'}, ${_.__}, ${$foo->bar}: the name is an expression.
			e := strings.IndexByte(lv[j:], '}')
			if e < 2 || e > 40 {
				continue
			}
			j += e + 1
		} else {
			if j < len(lv) && lv[j] == '@' {
				j++
			}
			// PHP variable names start with a letter or an underscore.
			if j >= len(lv) || !(lv[j] >= 'a' && lv[j] <= 'z' || lv[j] == '_' || lv[j] == '$') {
				continue
			}
			for j < len(lv) && (isWordByte(lv[j]) || lv[j] == '$') {
				j++
			}
		}
		// Indexes and comments between the name and the call: $__[o],
		// $_[$_[1]], $a/*x*/[1]. Spaces may not sit there: "$USD (before
		// tax)" is prose. jQuery's $(..) has no name.
		for j < len(lv) {
			if lv[j] == '[' {
				j = closeBracket(lv, j)
				continue
			}
			if lv[j] == '{' {
				// PHP's old string offset: $____[_]{_}.
				if e := strings.IndexByte(lv[j:], '}'); e > 0 && e <= 8 {
					j += e + 1
					continue
				}
			}
			if strings.HasPrefix(lv[j:], "/*") {
				if e := strings.Index(lv[j+2:], "*/"); e >= 0 {
					j += e + 4
					continue
				}
			}
			break
		}
		// The call is closed: "$umm3r(8/6{" is a password.
		if j < len(lv) && lv[j] == '(' && strings.IndexByte(lv[j+1:], ')') >= 0 {
			return i, j + 1, true
		}
		// A space before the call when the value is that statement and
		// the argument code: "$OOO0000O0 (16)"; "$USD (before tax)" is
		// prose.
		if k := j; i == 0 && k < len(lv) && lv[k] == ' ' {
			for k < len(lv) && lv[k] == ' ' {
				k++
			}
			if k+1 < len(lv) && lv[k] == '(' && strings.IndexByte("0123456789'\"$", lv[k+1]) >= 0 &&
				strings.HasSuffix(strings.TrimRight(lv, " ;"), ")") {
				return i, k + 1, true
			}
		}
	}
	return 0, 0, false
}

// closeBracket returns the index after the ']' closing the '[' at lv[j],
// or len(lv).
func closeBracket(lv string, j int) int {
	depth := 0
	for ; j < len(lv); j++ {
		switch lv[j] {
		case '[':
			depth++
		case ']':
			depth--
			if depth == 0 {
				return j + 1
			}
		}
	}
	return len(lv)
}

// checkPrototypeKey flags a key that is a JavaScript object's prototype,
// which servers that merge request data into objects (lodash merge, qs,
// jQuery.extend) then change for every object: the JSON key "__proto__",
// "prototype" inside "constructor".
func checkPrototypeKey(v, lv string, f Features, c *Context) (int, int, bool) {
	if lv == "__proto__" || lv == "prototype" && c.Parent == "constructor" {
		return 0, len(v), true
	}
	return 0, 0, false
}

// checkPrototypePath flags a property path through the prototype, in a
// key or in a value a server uses as a path: "__proto__[isAdmin]",
// "constructor[prototype][x]", "a.__proto__.b".
func checkPrototypePath(v, lv string, f Features, c *Context) (int, int, bool) {
	if !slices.Contains(prototypePlaces, c.Where) {
		return 0, 0, false
	}
	if i := strings.Index(lv, "__proto__"); i >= 0 {
		e := i + len("__proto__")
		// '?', '&', '#': a query string or fragment carried in the value,
		// which client-side parsers (jQuery deparam, Closure) turn into
		// objects.
		before := i > 0 && strings.IndexByte(".[\"'?&#", lv[i-1]) >= 0
		after := e < len(lv) && strings.IndexByte(".[]\"'", lv[e]) >= 0
		if before && after || i == 0 && after && lv[e] != ']' || c.Where == InName && before && e == len(lv) {
			return i, e, true
		}
	}
	if f&(fDot|fBracket) == 0 {
		return 0, 0, false
	}
	if i := strings.Index(lv, "constructor"); i >= 0 {
		rest := strings.TrimLeft(lv[i+len("constructor"):], "\"']")
		if strings.HasPrefix(rest, ".prototype") || strings.HasPrefix(rest, "[prototype]") || strings.HasPrefix(rest, "['prototype']") || strings.HasPrefix(rest, "[\"prototype\"]") {
			return i, len(v), true
		}
	}
	return 0, 0, false
}

// prototypePlaces are where a prototype path reaches an object merge: keys
// and values of the query, forms, JSON and cookies, and the path that
// client-side routers parse ("/?__proto__[x]=...").
var prototypePlaces = []Where{InName, InQuery, InField, InCookie, InPath, InPathSegment}

// ssiDirectives are the server-side include elements a web server runs
// when it parses a page ("<!--#exec cmd=..."): an include is a file read or
// a command, an echo reads the environment.
var ssiDirectives = []string{"exec", "include", "echo", "config", "printenv", "set", "fsize", "flastmod", "if", "elif"}

// checkSSI finds a server-side include directive: "<!--#", a directive name,
// then an attribute or the directive's end. Only the directive shape
// counts, so an HTML comment that starts with "#" in prose ("<!--# of
// items-->") does not.
func checkSSI(v, lv string, f Features, c *Context) (int, int, bool) {
	for from := 0; ; {
		i := strings.Index(lv[from:], "<!--")
		if i < 0 {
			return 0, 0, false
		}
		i += from
		from = i + 4
		rest := strings.TrimLeft(lv[from:], " \t")
		if rest == "" || rest[0] != '#' {
			continue
		}
		rest = rest[1:]
		for _, d := range ssiDirectives {
			if !strings.HasPrefix(rest, d) {
				continue
			}
			tail := rest[len(d):]
			after := strings.TrimLeft(tail, " \t\r\n")
			if d == "printenv" && (after == "" || strings.HasPrefix(after, "-->")) {
				return i, len(v), true
			}
			if len(after) == len(tail) {
				break // "<!--#settings", not "<!--#set var="
			}
			// An attribute assignment: name=" or name='.
			if n := strings.IndexByte(after, '='); n > 0 && n < 12 && isLetters(strings.TrimSpace(after[:n])) {
				return i, len(v), true
			}
			break
		}
	}
}

func isLetters(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
