package attack

import (
	"slices"
	"strings"

	"github.com/corazawaf/libinjection-go"
)

// SQL injection is detected twice: by libinjection (its fingerprints of the
// first tokens in three quoting contexts) and by a tokenizer that looks for
// the shapes an injection must take to change a query: a quote or a number
// followed by a logical operator and a condition, a comment that cuts the
// rest of the query, a stacked statement, UNION SELECT, or a call to a
// function only attackers call. A whole SQL statement sent as text (a
// documentation page, a forum post about SQL) breaks out of nothing, and
// neither check flags it.

func checkSQLiLibinjection(v, lv string, f Features, c *Context) (int, int, bool) {
	if f&(fQuote|fSpace|fParen|fSemi|fHash|fDash|fStar|fSlash|fPipe|fAmp|fEq) == 0 || len(v) < 2 {
		return 0, 0, false
	}
	if c.Where == InHeader && !headerTakesFreeText(c.Header) {
		return 0, 0, false
	}
	// libinjection fingerprints the first few tokens only, and in running
	// text those are words that happen to form a valid fingerprint ("The
	// sleep(8) hours..." is "nf(1)"). Prose is left to the tokenizer,
	// which looks for a breakout anywhere. Checked first: it is a cheap
	// pass, libinjection is not.
	if isProse(lv) {
		return 0, 0, false
	}
	ok, fp := libinjection.IsSQLi(v)
	if !ok {
		return 0, 0, false
	}
	// Fingerprints that begin with a statement keyword come from the
	// as-is context: the value *is* SQL. That is documentation, not an
	// injection, unless the tokenizer also sees a breakout.
	if len(fp) > 0 && (fp[0] == 'E' || fp[0] == 'T') {
		return 0, 0, false
	}
	// A lone word before a comment ("n--", "foo#") is prose or a tag.
	// A word and a call ("The sleep(8) hours") is how sentences start.
	if fp == "nc" || fp == "1c" || strings.HasPrefix(fp, "nf") {
		return 0, 0, false
	}
	// A quoted symbol explained in words ("'+' always print a sign") is
	// string, operator, string to libinjection; a concatenation probe
	// ends in a quote or a short operand, not in a sentence.
	if fp == "sos" && (wordsAfterLastQuote(lv) >= 3 || quotedSymbolInProse(lv)) {
		return 0, 0, false
	}
	// "(a OR b) AND NOT c" is a search box's boolean query: libinjection
	// reads its words as columns, but nothing in it is SQL but AND and OR.
	if booleanSearch(lv) {
		return 0, 0, false
	}
	if noiseToken(lv) {
		return 0, 0, false
	}
	if codeBlock(lv) {
		return 0, 0, false
	}
	if len(fp) == 4 && fp[0] == 'n' && fp[1] == 'o' && fp[3] == ';' && codeAssignment(lv) {
		return 0, 0, false
	}
	// A word, then a keyword, in text with no quote, operator, comment or
	// statement end: "SYNOPSIS Print the values on the stack.", "Dair
	// Grant (1): git-svn: improve ...". Words that are T-SQL's PRINT, USE
	// or GRANT make the fingerprint; nothing in the text could break out
	// of anything.
	if len(fp) > 1 && fp[0] == 'n' && (fp[1] == 'T' || fp[1] == 'k' || fp[1] == 'E') && !strings.ContainsAny(lv, "'\"`=<>;#|&*@") && !strings.Contains(lv, "--") && !strings.Contains(lv, "0x") && !strings.Contains(lv, "()") && !strings.Contains(lv, " (") {
		if words, _ := letterWords(lv); words >= 3 {
			return 0, 0, false
		}
	}
	return 0, len(v), true
}

// codeAssignment reports whether lv is one assignment statement of code,
// "root = NULL;", "window.location.href = '/dashboard';": a snippet in a
// post, which libinjection reads as a column compared to a value. An
// injection has no reason to end a comparison with a bare ';'.
func codeAssignment(lv string) bool {
	s := strings.TrimSpace(lv)
	if !strings.HasSuffix(s, ";") || strings.Count(s, ";") != 1 {
		return false
	}
	i := 0
	for i < len(s) && (isWordByte(s[i]) || s[i] == '.' || s[i] == '$' || s[i] == '[' || s[i] == ']') {
		i++
	}
	return i > 0 && strings.HasPrefix(s[i:], " = ") && !strings.Contains(s, "--") && !strings.Contains(s, "/*")
}

// codeBlock reports whether lv starts as a C-family control statement with
// a block, "if (a && b) { run(); }", "while (n > 0) {": a snippet in a
// post, whose "if(" libinjection reads as MySQL's IF() function. The
// function takes no braces after its arguments.
func codeBlock(lv string) bool {
	s := strings.TrimLeft(lv, " \t\r\n")
	for _, kw := range [...]string{"if", "while", "for", "switch"} {
		rest, ok := strings.CutPrefix(s, kw)
		if !ok {
			continue
		}
		rest = strings.TrimLeft(rest, " ")
		if rest == "" || rest[0] != '(' {
			return false
		}
		i := closingParenByte(rest[:min(len(rest), 400)], 0)
		return i > 0 && strings.HasPrefix(strings.TrimLeft(rest[i+1:], " \t\r\n"), "{")
	}
	return false
}

// noiseToken reports whether lv (lower-cased) is one token of letters,
// digits and punctuation with nothing of SQL in it: no space or comment
// to separate tokens, and no word libinjection's table knows ("summer",
// "d4rk"). Passwords and random ids are made so, and libinjection, which
// tries each value as if it followed a quote, finds fingerprints in them
// ("Admin'1,27@9" is string, number, variable). "admin'--", "admin'#",
// "1'or'1'='1" and "'||'1" keep a comment, a keyword or an operator run.
func noiseToken(lv string) bool {
	if len(lv) > 64 || strings.Contains(lv, "--") || strings.Contains(lv, "/*") || strings.Contains(lv, "||") || strings.Contains(lv, "&&") {
		return false
	}
	for i := 0; i+2 < len(lv); i++ {
		// Strings joined by an operator: "admin'+'", "x'='x".
		if q := lv[i]; q == '\'' || q == '"' {
			j := i + 1
			for j < len(lv) && j-i <= 2 && strings.IndexByte("+-*/%|&^=<>!", lv[j]) >= 0 {
				j++
			}
			if j > i+1 && j < len(lv) && (lv[j] == '\'' || lv[j] == '"') {
				return false
			}
		}
	}
	word := -1
	for i := 0; i <= len(lv); i++ {
		c := byte(' ')
		if i < len(lv) {
			c = lv[i]
		}
		if c >= 'a' && c <= 'z' || c == '_' {
			if word < 0 {
				word = i
			}
			continue
		}
		if word >= 0 {
			if libinjectionWords[lv[word:i]] {
				return false
			}
			word = -1
		}
		if i == len(lv) {
			break
		}
		switch c {
		case ' ', '\t', '\n', '\r', '\v', '\f', '`':
			return false
		case '#', ';':
			// A comment or a statement's end right after a breakout
			// ("admin'#", "1');") is SQL; inside a password it is not.
			if i == 0 || lv[i-1] == '\'' || lv[i-1] == '"' || lv[i-1] == ')' && strings.ContainsAny(lv[:i], `'"`) {
				return false
			}
		}
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// booleanSearch reports whether lv (lower-cased) is a boolean search
// query and nothing else: words that are not SQL (libinjectionWords),
// quoted phrases standing apart, and parentheses that group rather than
// call, joined by at least one and, or or not.
func booleanSearch(lv string) bool {
	ops, depth := 0, 0
	apart := func(i int) bool { return i == 0 || lv[i-1] == ' ' || lv[i-1] == '(' }
	for i := 0; i < len(lv); {
		switch c := lv[i]; {
		case c == ' ':
			i++
		case c == '(':
			if !apart(i) {
				return false // a call: "if(", "count("
			}
			depth++
			i++
		case c == ')':
			if depth--; depth < 0 {
				return false
			}
			i++
		case c == '"' || c == '\'':
			e := strings.IndexByte(lv[i+1:], c)
			if !apart(i) || e < 0 {
				return false
			}
			i += e + 2
			if i < len(lv) && lv[i] != ' ' && lv[i] != ')' {
				return false
			}
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			j := i
			for j < len(lv) && (lv[j] >= 'a' && lv[j] <= 'z' || lv[j] >= '0' && lv[j] <= '9' || lv[j] == '-' || lv[j] == '_') {
				j++
			}
			switch w := lv[i:j]; w {
			case "and", "or", "not":
				ops++
			default:
				if libinjectionWords[w] || w[0] >= '0' && w[0] <= '9' {
					return false
				}
			}
			i = j
		default:
			return false
		}
	}
	return ops > 0 && depth == 0
}

// wordsAfterLastQuote counts the words after the last quote of lv when
// they are all letters; any other byte there counts as none.
func wordsAfterLastQuote(lv string) int {
	q := strings.LastIndexAny(lv, `'"`)
	if q < 0 {
		return 0
	}
	words, clean := letterWords(lv[q+1:])
	if !clean {
		return 0
	}
	return words
}

// letterWords counts the runs of lower-case letters in s and reports
// whether s holds nothing but letters and spaces.
func letterWords(s string) (words int, clean bool) {
	clean = true
	in := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z':
			if !in {
				words++
			}
			in = true
		case c == ' ':
			in = false
		default:
			clean = false // and a word goes on through it ("x509.h" is one)
		}
	}
	return words, clean
}

// quotedSymbolInProse reports a sentence naming a symbol in quotes, "now
// allows leading '+'", "remove the stray \"%\"": two words or more before
// the quote, and between the quotes a few bytes without a letter. What an
// attacker closes is the one value the application quoted, not the end
// of a sentence.
func quotedSymbolInProse(lv string) bool {
	q := strings.IndexAny(lv, `'"`)
	if q < 0 {
		return false
	}
	e := strings.IndexByte(lv[q+1:], lv[q])
	if e < 0 || e > 4 {
		return false
	}
	for i := q + 1; i < q+1+e; i++ {
		if c := lv[i]; c >= 'a' && c <= 'z' || c == ' ' {
			return false
		}
	}
	words, _ := letterWords(lv[:q])
	return words >= 2 && lv[q-1] == ' '
}

// libinjectionExcludes is sqli.libinjection's prefilter: the values its
// Check returns early on (prose, checked first as the cheaper test), and
// those libinjection cannot flag.
func libinjectionExcludes(lv string) bool { return isProse(lv) || libinjectionCannotMatch(lv) }

// libinjectionCannotMatch reports, without running it, that libinjection
// cannot call the value lv (lower-cased) SQL injection. libinjection
// flags a value when the fingerprint of its first tokens is in its list,
// and every fingerprint in that list holds a token other than a plain word
// (n), a number (1), a symbol operator (o), a comma, a dot or a colon
// (TestLibinjectionFingerprintsNeedMore checks the list). A value made of
// letters, digits, '_', '.', ',', ':', '+', '/', '-' (never "--") and spaces
// yields no other token unless libinjection's keyword table types one of
// its words, or merges two adjacent ones: without a quote no string opens,
// without '#', "--" or "/*" no comment, without '(' no function, without
// '@' no variable, without ';' no statement. Those words are looked up in
// libinjectionWords, a copy of the table.
func libinjectionCannotMatch(lv string) bool {
	prev := ""          // the previous run of word bytes
	spacesOnly := false // only spaces since prev
	start := -1
	for i := 0; i <= len(lv); i++ {
		c := byte(' ')
		if i < len(lv) {
			c = lv[i]
		}
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.':
			if start < 0 {
				start = i
			}
			continue
		case c == ' ' || c == ',' || c == ':' || c == '+' || c == '/':
		case c == '-':
			if i+1 < len(lv) && lv[i+1] == '-' {
				return false
			}
		default:
			return false
		}
		if start >= 0 {
			run := lv[start:i]
			if !libinjectionPlainRun(run) {
				return false
			}
			// libinjection merges adjacent words ("group by") into one
			// keyword token when the pair is in its table.
			if spacesOnly && prev != "" && wordStart(run[0]) && !libinjectionPlainPair(prev, run) {
				return false
			}
			prev, spacesOnly, start = run, true, -1
		}
		if c != ' ' {
			spacesOnly = false
		}
	}
	return true
}

// maxLibinjectionWord is longer than any entry of libinjectionWords.
const maxLibinjectionWord = 40

func wordStart(c byte) bool { return c >= 'a' && c <= 'z' || c == '_' }

// libinjectionPlainRun reports whether none of the words libinjection may
// read in run (a maximal run of letters, digits, '_' and '.') is in its
// table. A run that starts with a letter is one word, which libinjection
// also looks up up to each '.'; one that starts with a number may switch
// to a word at any letter (the number's end depends on its base), so
// every such suffix is looked up.
func libinjectionPlainRun(run string) bool {
	if wordStart(run[0]) {
		return libinjectionPlainWord(run)
	}
	if len(run) > 64 {
		return false // bound the suffix look-ups; libinjection decides
	}
	for p := 1; p < len(run); p++ {
		if wordStart(run[p]) && !libinjectionPlainWord(run[p:]) {
			return false
		}
	}
	return true
}

// libinjectionPlainWord reports whether neither w nor any of its prefixes
// ending before a '.' is in libinjection's table.
func libinjectionPlainWord(w string) bool {
	for k := 0; k <= len(w); k++ {
		if (k == len(w) || w[k] == '.') && k <= maxLibinjectionWord && libinjectionWords[w[:k]] {
			return false
		}
	}
	return true
}

// libinjectionPlainPair reports whether no word that can end prev,
// followed by the word next, is a pair in libinjection's table.
func libinjectionPlainPair(prev, next string) bool {
	if len(next) > maxLibinjectionWord {
		return true
	}
	var buf [2*maxLibinjectionWord + 1]byte
	for p := 0; p < len(prev); p++ {
		if !wordStart(prev[p]) || p > 0 && wordStart(prev[0]) {
			continue // a run starting with a word is that one word
		}
		a := prev[p:]
		if len(a) > maxLibinjectionWord {
			continue
		}
		n := copy(buf[:], a)
		buf[n] = ' '
		n++
		n += copy(buf[n:], next)
		if libinjectionWords[string(buf[:n])] {
			return false
		}
	}
	return true
}

// isProse reports whether s reads as running text: at least eight words,
// most of its space-separated tokens plain words.
func isProse(s string) bool {
	// ASCII text is split here in one pass; strings.Fields splits on
	// Unicode spaces as well, so any other text goes the long way.
	words, tokens := 0, 0
	letters, n := 0, 0 // of the current token
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			c := s[i]
			if c >= 0x80 {
				return isProseUnicode(s)
			}
			if !asciiSpace[c] {
				n++
				if c >= 'a' && c <= 'z' {
					letters++
				}
				continue
			}
		}
		if n > 0 {
			tokens++
			if letters >= 2 && letters+2 >= n {
				words++
			}
			letters, n = 0, 0
		}
	}
	return words >= 8 && words*2 >= tokens
}

// asciiSpace holds the ASCII bytes unicode.IsSpace accepts.
var asciiSpace = [128]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// isProseUnicode is isProse for text that is not all ASCII.
func isProseUnicode(s string) bool {
	words, tokens := 0, 0
	for f := range strings.FieldsSeq(s) {
		tokens++
		letters := 0
		for i := 0; i < len(f); i++ {
			c := f[i]
			if c >= 'a' && c <= 'z' || c >= 0x80 {
				letters++
			}
		}
		// Trailing punctuation is part of prose: "myth," "article."
		if letters >= 2 && letters+2 >= len(f) {
			words++
		}
	}
	return words >= 8 && words*2 >= tokens
}

type sqlTok struct {
	kind  byte // 'w' word, '1' number, 's' string, 'o' operator, '(' ')' ',' ';' '.', 'c' comment, 'v' @variable
	text  string
	start int
	open  bool // string without its closing quote
}

// sqlLex tokenizes lv from i, at most max tokens.
func sqlLex(lv string, i, max int, out []sqlTok) []sqlTok {
	for i < len(lv) && len(out) < max {
		j := skipSpace(lv, i, false)
		if j >= len(lv) {
			break
		}
		i = j
		c := lv[i]
		switch {
		case c == '/' && i+1 < len(lv) && lv[i+1] == '*':
			if i+2 < len(lv) && lv[i+2] == '!' {
				// MySQL executable comment: its content is code.
				i += 3
				for i < len(lv) && lv[i] >= '0' && lv[i] <= '9' {
					i++
				}
				continue
			}
			end := strings.Index(lv[i+2:], "*/")
			if end < 0 {
				out = append(out, sqlTok{kind: 'c', text: lv[i:], start: i})
				return out
			}
			// An inline comment is white space to SQL, but record it:
			// "UN/**/ION" is not a word, "UNION/**/SELECT" is a sign.
			out = append(out, sqlTok{kind: 'c', text: lv[i : i+end+4], start: i})
			i += end + 4
		case c == '*' && i+1 < len(lv) && lv[i+1] == '/':
			i += 2
		case c == '-' && i+1 < len(lv) && lv[i+1] == '-', c == '#':
			out = append(out, sqlTok{kind: 'c', text: lv[i:], start: i})
			return out
		case c == '\'' || c == '"' || c == '`':
			end := i + 1
			for end < len(lv) {
				if lv[end] == '\\' {
					end += 2
					continue
				}
				if lv[end] == c {
					if end+1 < len(lv) && lv[end+1] == c { // '' escape
						end += 2
						continue
					}
					break
				}
				end++
			}
			if end >= len(lv) {
				out = append(out, sqlTok{kind: 's', text: lv[i:], start: i, open: true})
				return out
			}
			kind := byte('s')
			if c == '`' {
				kind = 'w'
			}
			out = append(out, sqlTok{kind: kind, text: lv[i : end+1], start: i})
			i = end + 1
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(lv) && lv[i+1] >= '0' && lv[i+1] <= '9':
			j := i
			if strings.HasPrefix(lv[i:], "0x") || strings.HasPrefix(lv[i:], "0b") {
				j += 2
			}
			for j < len(lv) && (isWordByte(lv[j]) || lv[j] == '.') {
				j++
			}
			out = append(out, sqlTok{kind: '1', text: lv[i:j], start: i})
			i = j
		case isWordByte(c) || c >= 0x80:
			j := i
			for j < len(lv) && (isWordByte(lv[j]) || lv[j] == '$' || lv[j] >= 0x80) {
				j++
			}
			out = append(out, sqlTok{kind: 'w', text: lv[i:j], start: i})
			i = j
		case c == '@' && i+1 < len(lv) && lv[i+1] == '>', c == '<' && i+1 < len(lv) && lv[i+1] == '@':
			out = append(out, sqlTok{kind: 'o', text: lv[i : i+2], start: i})
			i += 2
		case c == '@':
			j := i + 1
			for j < len(lv) && (lv[j] == '@' || isWordByte(lv[j])) {
				j++
			}
			out = append(out, sqlTok{kind: 'v', text: lv[i:j], start: i})
			i = j
		case c == '(' || c == ')' || c == ',' || c == ';' || c == '.':
			out = append(out, sqlTok{kind: c, text: lv[i : i+1], start: i})
			i++
		case c == '{' && odbcEscape(lv[i+1:]) > 0:
			// "{if length((select ...))>0}", "{fn concat(...)}": an ODBC
			// escape, which MySQL and ODBC drivers evaluate as the
			// expression it holds.
			out = append(out, sqlTok{kind: '(', text: "(", start: i})
			i += 1 + odbcEscape(lv[i+1:])
		case c == '}' && len(out) > 0:
			out = append(out, sqlTok{kind: ')', text: ")", start: i})
			i++
		default:
			j := i + 1
			for j < len(lv) && j < i+3 && strings.IndexByte("=<>!|&^~+-*/%:", lv[j]) >= 0 && !(lv[j] == '-' && j+1 < len(lv) && lv[j+1] == '-') {
				j++
			}
			out = append(out, sqlTok{kind: 'o', text: lv[i:j], start: i})
			i = j
		}
	}
	return out
}

// odbcEscape returns the length of the ODBC escape keyword s starts with
// ("if ", "fn ", "oj "), spaces after it included; 0 when there is none.
func odbcEscape(s string) int {
	for _, k := range [...]string{"if", "fn", "oj", "call"} {
		if len(s) > len(k) && s[:len(k)] == k && (s[len(k)] == ' ' || s[len(k)] == '\t' || s[len(k)] == '\n' || s[len(k)] == '+') {
			n := len(k)
			for n < len(s) && (s[n] == ' ' || s[n] == '\t' || s[n] == '\n' || s[n] == '+') {
				n++
			}
			return n
		}
	}
	return 0
}

var sqlLogical = map[string]bool{"or": true, "and": true, "xor": true, "||": true, "&&": true, "div": false}

var sqlCompare = map[string]bool{
	"=": true, "==": true, "<>": true, "!=": true, "<": true, ">": true, "<=": true, ">=": true, "<=>": true,
	"like": true, "rlike": true, "regexp": true, "is": true, "in": true, "between": true, "sounds": true,
	"glob": true, "match": true, "not": true,
	// PostgreSQL's JSON operators, which filters of SQL keywords miss:
	// "OR '{"a":1}' ? 'a'", "'{"b":2}'::jsonb @> '{"b":2}'".
	"?": true, "?|": true, "?&": true, "@>": true, "<@": true, "->": true, "->>": true,
}

// unclosedSQLCall reports a value that is nothing but the start of a call
// of a SQL function ("SUBSTRING(", "group_concat (", "unhex(0x"): the head
// of an injection cut where a filter or a length limit would cut it. No
// one types an open call alone into a form.
func unclosedSQLCall(lv string) (int, bool) {
	s := strings.TrimLeft(lv, " \t")
	if rest, ok := strings.CutPrefix(s, "select "); ok {
		s = strings.TrimLeft(rest, " \t") // "SELECT CHAR("
	}
	n := 0
	for n < len(s) && (isWordByte(s[n]) || s[n] == '.') {
		n++
	}
	name := s[:n]
	if !sqlFuncs[name] && !sqlOpenCalls[name] {
		return 0, false
	}
	rest := strings.TrimLeft(s[n:], " \t")
	if !strings.HasPrefix(rest, "(") || len(rest) > 16 || strings.ContainsAny(rest, ") ") {
		return 0, false
	}
	return len(lv), true
}

// sqlOpenCalls are SQL functions (besides sqlFuncs) injections call,
// recognised by unclosedSQLCall.
var sqlOpenCalls = map[string]bool{
	"coalesce": true, "compress": true, "uncompress": true, "cos": true, "pow": true, "power": true, "trim": true,
	"rtrim": true, "ltrim": true, "strcmp": true, "sysdate": true, "ifnull": true, "nullif": true, "isnull": true,
	"decode": true, "encode": true, "find_in_set": true, "field": true, "instr": true, "locate": true, "lpad": true,
	"rpad": true, "reverse": true, "replace": true, "left": true, "right": true, "lower": true, "upper": true,
	"bin": true, "oct": true, "conv": true, "uuid": true, "last_insert_id": true, "found_rows": true,
	"schema_name": true, "table_name": true, "column_name": true, "object_id": true, "object_name": true,
	"quotename": true, "current_database": true, "current_schema": true, "inet_server_addr": true,
	"utl_http.request": true, "dbms_pipe.receive_message": true, "to_char": true, "to_number": true,
}

// sqlFuncs are functions and objects that only reconnaissance and
// exploitation use.
var sqlFuncs = map[string]bool{
	"sleep": true, "benchmark": true, "pg_sleep": true, "randomblob": true, "load_file": true,
	"extractvalue": true, "updatexml": true, "xp_cmdshell": true, "version": true, "database": true,
	"user": true, "current_user": true, "system_user": true, "session_user": true, "schema": true,
	"ascii": true, "substring": true, "substr": true, "mid": true, "char": true, "chr": true,
	"concat": true, "concat_ws": true, "group_concat": true, "hex": true, "unhex": true, "ord": true,
	"if": true, "iif": true, "case": true, "exists": true, "count": true, "length": true, "len": true,
	"cast": true, "convert": true, "md5": true, "sha1": true, "rand": true, "now": true,
	"make_set": true, "elt": true, "row": true, "floor": true, "exp": true, "json_keys": true,
	"gtid_subset": true, "name_const": true, "utl_inaddr": true, "utl_http": true, "dbms_pipe": true,
	"dbms_lock": true, "dbms_xmlgen": true, "sys_context": true, "ctxsys": true, "xmltype": true,
	"db_name": true, "host_name": true, "suser_sname": true, "is_srvrolemember": true,
	"waitfor": true, "select": true, "sqlite_version": true, "pg_read_file": true, "lo_import": true,
	"instr": true, "locate": true, "position": true, "isnull": true, "ifnull": true, "coalesce": true,
	"nullif": true, "unicode": true, "char_length": true, "bin": true, "oct": true, "conv": true,
}

// sqlObjects are names an attacker reads to map the database.
var sqlObjects = []string{
	"information_schema", "sysobjects", "syscolumns", "sqlite_master", "pg_catalog", "pg_shadow",
	"mysql.user", "all_tables", "user_tables", "sys.tables", "msysobjects", "@@version", "@@datadir",
	"@@hostname", "@@servername", "dual", "pg_user", "sys.databases", "master..",
}

var sqlStatement = map[string][]string{
	"drop":     {"table", "database", "schema", "user", "view", "index", "procedure", "function", "trigger"},
	"insert":   {"into"},
	"delete":   {"from"},
	"truncate": {"table"},
	"create":   {"table", "user", "database", "procedure", "function", "trigger", "login"},
	"alter":    {"table", "user", "database", "login"},
	"exec":     nil,
	"execute":  nil,
	"declare":  nil,
	"shutdown": nil,
	"waitfor":  {"delay", "time"},
	"grant":    nil,
	"select":   nil,
	"update":   nil,
	"union":    nil,
	"call":     nil,
	"copy":     nil,
	"load":     {"data", "xml"},
	"set":      nil,
	"if":       nil,
}

func checkSQLiTokens(v, lv string, f Features, c *Context) (int, int, bool) {
	if len(lv) < 3 || f&(fQuote|fSpace|fParen|fSemi|fHash|fDash|fStar|fSlash) == 0 {
		return 0, 0, false
	}
	if c.Where == InHeader && !headerTakesFreeText(c.Header) {
		return 0, 0, false
	}
	if f&(fHash|fDash|fSlash) != 0 {
		if i, ok := unionCommentSelect(lv); ok {
			return i, len(v), true
		}
	}
	if i, e, ok := sqlTokens(v, lv, f, c); ok {
		return i, e, true
	}
	if f&fStar != 0 && f&fSlash != 0 {
		// "un/**/ion sel/**/ect": keywords cut by comments, for filters
		// that drop comments before they match.
		if joined, ok := withoutWordComments(lv); ok {
			if _, _, ok := sqlTokens(joined, joined, features(joined), c); ok {
				return 0, len(v), true
			}
		}
	}
	return 0, 0, false
}

// sqlTokens is checkSQLiTokens on one reading of the value.
func sqlTokens(v, lv string, f Features, c *Context) (int, int, bool) {
	var buf, bare [48]sqlTok
	// Raw context: the value as a number or identifier in the query.
	toks := withoutInlineComments(sqlLex(lv, 0, len(buf), buf[:0]), bare[:0])
	if s, ok := sqlRaw(toks); ok {
		return s, len(v), true
	}
	// String contexts: the value inside '...' or "...". The first quote
	// of each kind is where a breakout would happen.
	prose := f&fBacktick != 0 && (isProse(lv) || strings.Contains(lv, "`") && gnuQuoted(lv))
	for _, q := range []byte{'\'', '"', '`'} {
		i := strings.IndexByte(lv, q)
		if prose && (q == '\'' || q == '`') {
			i = firstUnpairedGNU(lv, q)
		}
		// A quotation in a sentence ("when it sees '--'.", "the "or"
		// operator") opens and closes a quoted word; a breakout would be
		// at an unpaired quote after it.
		for n := 0; i >= 0 && n < 4; n++ {
			e := quotation(lv, i)
			if e < 0 {
				break
			}
			if k := strings.IndexByte(lv[e+1:], q); k >= 0 {
				i = e + 1 + k
			} else {
				i = -1
			}
		}
		if i < 0 {
			continue
		}
		toks := withoutInlineComments(sqlLex(lv, i+1, len(buf), buf[:0]), bare[:0])
		// A backtick counts alone only: two are Markdown's inline code.
		if sqlBreakout(toks) || (q != '`' || strings.Count(lv, "`") == 1) && i > 0 && strings.IndexByte(lv[:i], ' ') < 0 && endsStatement(toks) {
			return i, len(v), true
		}
	}
	return 0, 0, false
}

// quotation returns the offset of the quote that closes a short quoted
// word or symbol opened at lv[i] inside a sentence: a space and at least
// two words of letters before it, the close within 24 bytes with no space
// inside, and no word glued to the close. -1 when lv[i] opens none.
func quotation(lv string, i int) int {
	if i < 2 || lv[i-1] != ' ' {
		return -1
	}
	if words, _ := letterWords(lv[:i]); words < 2 {
		return -1
	}
	q := lv[i]
	for j := i + 1; j < len(lv) && j <= i+25; j++ {
		switch {
		case lv[j] == q:
			if j == i+1 || j+1 < len(lv) && isWordByte(lv[j+1]) {
				return -1
			}
			return j
		case lv[j] == ' ' && !(j == i+2 && q == '"'), lv[j] == '\'' || lv[j] == '"' || lv[j] == '`':
			return -1 // ("# " is a symbol quoted with its space)
		}
	}
	return -1
}

// gnuQuoted reports whether lv quotes a word GNU's way, `word', and has
// words around it: changelogs and manuals write so.
func gnuQuoted(lv string) bool {
	i := strings.IndexByte(lv, '`')
	if i < 0 {
		return false
	}
	k := strings.IndexAny(lv[i+1:], "`'")
	if k < 1 || k > 40 || lv[i+1+k] != '\'' {
		return false
	}
	words, _ := letterWords(lv)
	return words >= 3
}

// withoutWordComments returns lv without the block comments that stand
// inside a word ("un/**/ion"), and whether there were any.
func withoutWordComments(lv string) (string, bool) {
	var b []byte
	last := 0
	for i := range occurrences(lv, "/*") {
		if i < last || i == 0 || !isWordByte(lv[i-1]) {
			continue
		}
		e := strings.Index(lv[i+2:], "*/")
		if e < 0 || e > 32 {
			break
		}
		end := i + 2 + e + 2
		if end >= len(lv) || !isWordByte(lv[end]) {
			continue
		}
		b = append(b, lv[last:i]...)
		last = end
	}
	if last == 0 {
		return lv, false
	}
	return string(append(b, lv[last:]...)), true
}

// withoutInlineComments returns toks without the closed block comments
// that stand between two tokens: SQL reads "/**/" as a space, so
// "/**/or/**/1/**/=/**/1" is "or 1=1". A comment that ends the value
// stays, it cuts the query off ("1'/* x */"). out is the buffer the
// result is built in when there is something to drop.
func withoutInlineComments(toks, out []sqlTok) []sqlTok {
	inner := func(i int) bool {
		return i < len(toks)-1 && blockComment(toks[i]) && strings.HasSuffix(toks[i].text, "*/")
	}
	drop := false
	for i := range toks {
		if inner(i) {
			drop = true
			break
		}
	}
	if !drop {
		return toks
	}
	for i, t := range toks {
		if !inner(i) {
			out = append(out, t)
		}
	}
	return out
}

// firstUnpairedGNU returns the index of the first q (a backtick or an
// apostrophe) in lv that is not part of a GNU-style quotation, "`word'",
// which manuals and changelogs use for names ("the `select' command"), or
// -1.
func firstUnpairedGNU(lv string, q byte) int {
	for i := 0; i < len(lv); i++ {
		if lv[i] != q {
			continue
		}
		if q == '`' {
			if k := strings.IndexAny(lv[i+1:], "`'"); k >= 0 && k <= 40 && lv[i+1+k] == '\'' {
				i += k + 1
				continue
			}
			return i
		}
		if b := strings.LastIndexAny(lv[:i], "`'"); b >= 0 && lv[b] == '`' && i-b <= 41 {
			continue
		}
		return i
	}
	return -1
}

// sqlTokensExcluded is sqli.tokenizer's prefilter: values none of its
// contexts can flag. Without a quote there is no string context; in the
// raw one, sqlRaw needs a "union" token, a first token that is a time
// function, a logical operator, SELECT, ORDER, GROUP, DECLARE, RLIKE,
// REGEXP, HAVING, IIF, ELT, WHERE, AS, EXEC or EXECUTE, '(' , ')', '-' or
// a number, or a ';' (stacked statement). A value without quotes, "union"
// and ';' whose first token is another word has none of them.
func sqlTokensExcluded(lv string) bool {
	if strings.ContainsAny(lv, "'\"`;") || strings.Contains(lv, "union") || strings.Contains(lv, "exec(@") || strings.Contains(lv, "execute(@") {
		return false
	}
	i := skipSpace(lv, 0, false)
	if i >= len(lv) || !(isWordByte(lv[i]) && (lv[i] < '0' || lv[i] > '9') || lv[i] >= 0x80) {
		return false
	}
	w := lv[i:]
	if strings.HasPrefix(w, "sleep") || strings.HasPrefix(w, "benchmark") || strings.HasPrefix(w, "pg_sleep") || strings.HasPrefix(w, "randomblob") {
		return false
	}
	e := 0
	for e < len(w) && isWordByte(w[e]) {
		e++
	}
	switch w[:e] {
	case "and", "or", "xor", "select", "order", "group", "declare", "rlike", "regexp", "having", "iif", "elt", "where", "as", "exec", "execute":
		return false
	}
	return true
}

// sqlRaw checks a value as it would sit in numeric context: "1 OR 1=1",
// "-1 UNION SELECT ...", "1; DROP TABLE t", "1 AND SLEEP(5)".
func sqlRaw(toks []sqlTok) (int, bool) {
	if i, ok := unionSelect(toks); ok {
		return i, true
	}
	if len(toks) == 0 {
		return 0, false
	}
	if n := len(toks); n >= 2 && n <= 3 && toks[0].text == "union" && toks[n-1].text == "select" && (n == 2 || toks[1].text == "all" || toks[1].text == "distinct") {
		// "UNION SELECT" and nothing else: the head of the injection.
		return toks[0].start, true
	}
	// What sqlmap appends after a column or a closed list: ",(SELECT ...",
	// ";IIF(...)".
	if len(toks) > 1 && toks[0].kind == ',' {
		toks = toks[1:]
	}
	if len(toks) > 1 && toks[0].kind == ';' && (toks[1].text == "iif" || toks[1].text == "if") {
		toks = toks[1:]
	}
	if i, ok := runsBuiltStatement(toks); ok {
		return i, true
	}
	t0 := toks[0]
	switch {
	case t0.kind == 'w' && (t0.text == "rlike" || t0.text == "regexp") && len(toks) > 1 && (toks[1].kind == '(' || toks[1].kind == 'w' && isTimeFunc(toks[1].text)):
		// "RLIKE SLEEP(5)", "RLIKE (SELECT ...)": a condition appended
		// with MySQL's regex operator.
		return 0, true
	case t0.kind == 'w' && t0.text == "having" && len(toks) > 1:
		return 0, condition(toks[1:], false)
	case t0.kind == 'w' && t0.text == "where" && len(toks) > 3 && toks[1].kind == '1' && toks[2].text == "=" && toks[3].kind == '1':
		// "WHERE 1=1 AND 1=0": a clause appended after a table name.
		return 0, true
	case t0.kind == 'w' && t0.text == "as" && len(toks) > 5 && toks[1].kind == 'w' && toks[2].text == "where" && toks[3].kind == '1' && toks[4].text == "=":
		return 0, true // "AS x WHERE 1=1": an alias, then the clause
	case t0.kind == 'w' && t0.text == "order" && len(toks) > 2 && toks[1].text == "by" && orderByProbe(toks[2:]):
		return 0, true
	case t0.kind == '(' && caseWhen(toks[1:]):
		return 0, true
	case t0.kind == 'w' && (t0.text == "iif" || t0.text == "elt" || t0.text == "if") && len(toks) > 4 && toks[1].kind == '(' && toks[2].kind == '1' && toks[3].text == "=" && toks[4].kind == '1':
		// "IIF(4821=4821,1,1/0)": a conditional on a constant comparison.
		return 0, true
	case t0.kind == 'w' && sqlFuncs[t0.text] && t0.text != "select" && len(toks) > 2 && toks[1].kind == '(' && isTimeFunc(t0.text):
		// "sleep(5)" as the whole value.
		return 0, true
	case t0.kind == '(' && len(toks) > 1 && toks[1].kind == 'w' && toks[1].text == "select" && selectList(toks[2:]):
		return 0, true
	case t0.kind == 'w' && (t0.text == "and" || t0.text == "or" || t0.text == "xor") || t0.kind == 'o' && (t0.text == "||" || t0.text == "&&"):
		// "or 1=1", "AND (SELECT 1 FROM ...)": a condition written to be
		// appended to a number.
		return 0, condition(toks[1:], false)
	case t0.kind == 'w' && t0.text == "select" && len(toks) > 1 && selectsProbe(toks[1:]):
		return 0, true
	case t0.kind == 'w' && t0.text == "declare" && len(toks) > 2 && toks[1].kind == 'v' && toks[2].kind == 'w' && sqlVarTypes[toks[2].text]:
		// "declare @s varchar(200) select @s = 0x...": T-SQL that builds
		// and runs a statement; no sentence declares an @variable.
		return 0, true
	case t0.kind == 'w' && (t0.text == "order" || t0.text == "group") && len(toks) > 3 && toks[1].text == "by" && toks[2].kind == '1' && toks[3].kind == 'c' && len(strings.TrimSpace(toks[3].text)) <= 4:
		// "ORDER BY 10--": counting the columns, the rest cut off.
		return 0, true
	case t0.kind == 'w' && t0.text == "group" && len(toks) > 4 && toks[1].text == "by" && toks[3].text == "having":
		// "GROUP BY id HAVING 1=1--": the clause SQL Server's error
		// messages answer with the next column's name.
		return 0, condition(toks[4:], false)
	case t0.kind == 'w' && (t0.text == "exec" || t0.text == "execute") && len(toks) > 1 && (toks[1].kind == 'v' || toks[1].kind == '(' && len(toks) > 2 && toks[2].kind == 'v'):
		// "exec(@s)", "EXEC @cmd": T-SQL running a statement it built.
		return 0, true
	case t0.kind == 'w' && t0.text == "select" && (selectsCatalogCutOff(toks[1:]) || selectsPrivileged(toks[1:]) || delays(toks[1:])):
		return 0, true
	case t0.kind == 'w' && t0.text == "copy" && copiesFile(toks[1:]):
		return 0, true
	case t0.kind == '1' || t0.kind == ')' || t0.kind == 'o' && t0.text == "-" && len(toks) > 1 && toks[1].kind == '1':
		// A number: what follows must be an operator to be an injection.
		i := 1
		if t0.kind == 'o' {
			i = 2
		}
		for i < len(toks) && toks[i].kind == ')' {
			i++
		}
		return 0, afterOperand(toks[i:], false)
	}
	if catalogSubquery(toks) {
		return 0, true
	}
	// Statements stacked after a ';' anywhere, even in prose-like input,
	// as long as they are whole: "x; DROP TABLE users". The ';' comes
	// within the first three tokens, or right after a call the value
	// starts with ("mod(1,2);INSERT ...").
	first := 3
	if t0.kind == 'w' && len(toks) > 1 && toks[1].kind == '(' {
		if j := closingParen(toks, 1); j > 0 {
			first = j + 2
		}
	}
	for i, t := range toks {
		if t.kind != ';' || !stackedStatement(toks[i+1:]) {
			continue
		}
		// Further in, a stacked statement counts when it waits: "name[0
		// ;select sleep(8);;" is a blind probe wherever the ';' is; a
		// statement shown after prose is not.
		if i < first || delays(toks[i+1:]) {
			return t.start, true
		}
	}
	return 0, false
}

// delays reports whether toks call a time function ("sleep(8)",
// "pg_sleep(5)") or wait ("waitfor delay").
// runsBuiltStatement finds dynamic SQL: a statement built in a variable
// and run, "set @c = concat(...); prepare s from @c; execute s" (MySQL),
// "select @q = 0x77...; exec(@q)" (T-SQL). The value has to assign the
// variable it runs: a query that names one is not enough.
func runsBuiltStatement(toks []sqlTok) (int, bool) {
	assigned := map[string]bool{}
	for k := 0; k+2 < len(toks); k++ {
		if (toks[k].text == "set" || toks[k].text == "select") && toks[k+1].kind == 'v' && (toks[k+2].text == "=" || toks[k+2].text == ":=") {
			assigned[toks[k+1].text] = true
		}
	}
	if len(assigned) == 0 {
		return 0, false
	}
	for k, t := range toks {
		switch {
		case t.text == "prepare" && k+3 < len(toks) && toks[k+1].kind == 'w' && toks[k+2].text == "from" && assigned[toks[k+3].text]:
			return t.start, true
		case (t.text == "exec" || t.text == "execute") && k+1 < len(toks):
			n := toks[k+1]
			if n.kind == '(' && k+2 < len(toks) {
				n = toks[k+2]
			}
			if assigned[n.text] {
				return t.start, true
			}
		}
	}
	return 0, false
}

func delays(toks []sqlTok) bool {
	for i, t := range toks {
		if t.kind != 'w' {
			continue
		}
		if isTimeFunc(t.text) && i+1 < len(toks) && toks[i+1].kind == '(' || t.text == "waitfor" && i+1 < len(toks) && toks[i+1].text == "delay" {
			return true
		}
	}
	return false
}

// selectsProbe reports whether a SELECT's first expression is one only a
// probe selects: a delay ("SELECT SLEEP(5)"), a server variable ("SELECT
// @@version") or the server's identity and files ("SELECT user()"). A
// SELECT of columns is a query someone wrote out.
func selectsProbe(toks []sqlTok) bool {
	for len(toks) > 0 && toks[0].kind == '(' {
		toks = toks[1:]
	}
	if len(toks) == 0 {
		return false
	}
	t := toks[0]
	if t.kind == 'v' {
		return strings.HasPrefix(t.text, "@@")
	}
	if t.kind != 'w' {
		return false
	}
	if len(toks) < 2 || toks[1].kind != '(' {
		// SQL's identity keywords, which need no parentheses, as all
		// the statement selects: "select current_user;", "select user
		// from dual".
		rest := toks[1:]
		if len(rest) > 0 && rest[0].kind == 'w' && rest[0].text == "from" {
			rest = rest[1:]
			if len(rest) == 0 || rest[0].text != "dual" && !strings.HasPrefix(qualifiedName(rest), "sysibm.sysdummy1") {
				return false
			}
			rest = rest[1:]
			for len(rest) > 0 && (rest[0].kind == '.' || rest[0].kind == 'w' || rest[0].kind == '1') {
				rest = rest[1:]
			}
		}
		if len(rest) > 0 && rest[0].kind != ';' && rest[0].kind != 'c' {
			return false
		}
		switch t.text {
		case "current_user", "session_user", "system_user", "current_role", "current_schema":
			return true
		case "user":
			return len(toks) > 1 // "user from dual"; "Select user" alone is a label
		}
		return false
	}
	switch t.text {
	case "version", "user", "current_user", "system_user", "session_user", "database", "db_name",
		"host_name", "suser_sname", "sqlite_version", "current_database", "current_schema",
		"pg_backend_pid", "inet_server_addr", "connection_id", "schema":
		// Called with nothing: "Select user (admin)" is a label.
		return len(toks) > 2 && toks[2].kind == ')'
	case "load_file", "pg_read_file", "current_setting", "pg_ls_dir":
		return true
	}
	return isTimeFunc(t.text)
}

// copiesFile reports whether a PostgreSQL COPY (its tokens after the
// keyword) reads or writes a server file or runs a program: "copy t from
// '/etc/passwd'", "copy t to program 'id'".
func copiesFile(toks []sqlTok) bool {
	if len(toks) < 3 || toks[0].kind != 'w' || toks[1].kind != 'w' || toks[1].text != "from" && toks[1].text != "to" {
		return false
	}
	t := toks[2]
	if t.kind == 'w' && t.text == "program" {
		return true
	}
	if t.kind == 's' && len(t.text) > 2 {
		p := t.text[1:]
		return p[0] == '/' || len(p) > 2 && p[1] == ':' && (p[2] == '\\' || p[2] == '/')
	}
	return false
}

// qualifiedName joins the words and dots toks start with:
// "sysibm.systables", "master..sysservers".
func qualifiedName(toks []sqlTok) string {
	var b strings.Builder
	for i, t := range toks {
		if i >= 6 || t.kind != 'w' && t.kind != '.' && t.kind != '1' {
			break
		}
		b.WriteString(t.text)
	}
	return b.String()
}

// privilegedCatalogs are the tables and views that hold a database's
// accounts, grants and server settings, or its whole schema in engines
// whose documentation rarely shows them (information_schema and
// pg_catalog, which manuals query, are left out).
var privilegedCatalogs = []string{
	"pg_shadow", "pg_authid", "pg_user", "pg_group", "pg_roles", "pg_settings", "pg_stat_activity",
	"mysql.user", "mysql.db", "sysibm.", "syscat.", "sysibmadm.", "master..", "master.dbo.", "sysusers",
	"syslogins", "sys.sql_logins", "sys.server_principals", "sys.syslogins", "sysservers", "sysdatabases",
	"sysobjects", "syscolumns", "dba_users", "dba_tables", "dba_tab_columns", "all_users", "all_tables",
	"all_tab_columns", "user_tables", "v$version", "v$instance", "v$database", "rdb$", "sqlite_master",
	"sqlite_schema", "msysobjects", "sys.all_users", "sys.all_tables", "sys.all_tab_columns", "sys.dba_",
	"sys.user$", "sys.user_tables",
}

// selectsPrivileged reports whether a SELECT (its tokens after the
// keyword) reads a privileged catalog: "select * from pg_shadow",
// "select name from sysibm.systables". The value is the statement, as a
// query console or an injection sends it.
func selectsPrivileged(toks []sqlTok) bool {
	for i, t := range toks {
		if t.kind == 'w' && t.text == "from" && i+1 < len(toks) {
			name := qualifiedName(toks[i+1:])
			if name == "" && toks[i+1].kind == '(' {
				continue // a subquery; its own FROM comes next
			}
			return slices.ContainsFunc(privilegedCatalogs, func(c string) bool { return strings.HasPrefix(name, c) })
		}
	}
	return false
}

// catalogSubquery reports whether toks hold a subquery "(select ... from
// information_schema...)" or from a privileged catalog inside an
// expression, as extraction splices one into a call or a concatenation:
// ",cast(chr(126)||(select table_name from information_schema.tables
// ...". A statement shown in a manual is not itself in parentheses.
func catalogSubquery(toks []sqlTok) bool {
	for i := 1; i+3 < len(toks); i++ {
		if toks[i].kind != '(' || toks[i+1].kind != 'w' || toks[i+1].text != "select" {
			continue
		}
		if p := toks[i-1]; p.kind != '(' && p.kind != ',' && p.kind != 'o' {
			continue
		}
		for j := i + 2; j+1 < len(toks) && j < i+14; j++ {
			if toks[j].kind == 'w' && toks[j].text == "from" {
				name := qualifiedName(toks[j+1:])
				if strings.HasPrefix(name, "information_schema") || slices.ContainsFunc(privilegedCatalogs, func(c string) bool { return strings.HasPrefix(name, c) }) {
					return true
				}
				break
			}
		}
	}
	return false
}

// selectsCatalogCutOff reports whether a SELECT's tokens (after the
// keyword) read from a system catalog and end in a comment that cuts the
// rest of the query off: "select * from information_schema.tables--". A
// query shown in documentation ends where it ends; one sent to be spliced
// into another needs the comment.
func selectsCatalogCutOff(toks []sqlTok) bool {
	if len(toks) < 3 || toks[len(toks)-1].kind != 'c' || !cutOff(toks[len(toks)-1].text) {
		return false
	}
	for i, t := range toks[:len(toks)-2] {
		if t.kind == 'w' && t.text == "from" {
			next := toks[i+1].text
			return slices.ContainsFunc(sqlObjects, func(o string) bool { return strings.HasPrefix(next, o) })
		}
	}
	return false
}

func isTimeFunc(w string) bool {
	return w == "sleep" || w == "benchmark" || w == "pg_sleep" || w == "randomblob"
}

// sqlBreakout checks the tokens after a quote: the value closed the string
// literal, so what follows is code.
func sqlBreakout(toks []sqlTok) bool {
	i := 0
	for i < len(toks) && (toks[i].kind == ')' || toks[i].kind == 'c' && strings.HasPrefix(toks[i].text, "/*")) {
		i++
	}
	if i >= len(toks) {
		return false
	}
	if toks[i].kind == 'c' {
		// "admin'--", "x')#", "1'/*": the rest of the query is cut off.
		return cutOff(toks[i].text)
	}
	if _, ok := unionSelect(toks[i:]); ok {
		return true
	}
	if n := len(toks); n-i >= 4 && toks[i].kind == 'o' && toks[i].text == "||" && toks[n-2].kind == 'o' && toks[n-2].text == "||" && toks[n-1].kind == 's' && toks[n-1].open && toks[n-1].text == toks[n-1].text[:1] {
		// "'||f('a','b')||'": an expression spliced into the string
		// by concatenation, the quotes on both sides balanced.
		return true
	}
	return afterOperand(toks[i:], true)
}

// quotedWords reports whether toks, what follows an opening quote, are
// words up to a closing quote and then text: a phrase quoted in a sentence.
func quotedWords(toks []sqlTok) bool {
	for i, t := range toks {
		switch {
		case t.kind == 's':
			return i > 0 && i == len(toks)-1 && t.open
		case t.kind != 'w':
			return false
		}
	}
	return false
}

// orderByProbe reports what follows ORDER BY in a value that is an
// injection: a column number and nothing else ("ORDER BY 2", counting
// columns), or a delay in the sort list ("ORDER BY 1,SLEEP(5),3").
func orderByProbe(toks []sqlTok) bool {
	if len(toks) == 1 && toks[0].kind == '1' {
		return true
	}
	for i, t := range toks {
		if t.kind == 'w' && isTimeFunc(t.text) && i+1 < len(toks) && toks[i+1].kind == '(' {
			return true
		}
	}
	return false
}

// caseWhen reports whether toks start as a searched CASE expression,
// "CASE WHEN 1=1 THEN ... END" (a sort parameter's boolean probe); the
// words alone are prose, all four in this order are SQL.
func caseWhen(toks []sqlTok) bool {
	if len(toks) < 4 || toks[0].text != "case" || toks[1].text != "when" {
		return false
	}
	then := false
	for _, t := range toks[2:] {
		switch {
		case t.kind == 'w' && t.text == "then":
			then = true
		case t.kind == 'w' && t.text == "end" && then:
			return true
		}
	}
	return false
}

// unionCommentSelect finds UNION and SELECT with only comments, their
// markers and UNION's modifiers between ("union # distinctrow/**/select",
// "union/*!50000*/select"): the tokenizer reads a '#' to the line's end,
// a server that splits the query differently does not.
func unionCommentSelect(lv string) (int, bool) {
	for i := range occurrences(lv, "union") {
		after := i + 5
		if i > 0 && isWordByte(lv[i-1]) {
			continue
		}
		j := after
		sawComment := false
		for j < len(lv) && j-after < 120 {
			switch {
			case lv[j] <= ' ' || lv[j] == '(':
				j++
			case lv[j] == '#':
				sawComment = true
				j++
			case strings.HasPrefix(lv[j:], "--"):
				sawComment = true
				j += 2
			case strings.HasPrefix(lv[j:], "/*"):
				sawComment = true
				e := strings.Index(lv[j+2:], "*/")
				if e < 0 {
					j = len(lv)
					break
				}
				j += 2 + e + 2
			case strings.HasPrefix(lv[j:], "distinctrow"):
				j += 11
			case strings.HasPrefix(lv[j:], "distinct"):
				j += 8
			case strings.HasPrefix(lv[j:], "all"):
				j += 3
			default:
				goto judged
			}
		}
	judged:
		if sawComment && strings.HasPrefix(lv[j:], "select") && (j+6 == len(lv) || !isWordByte(lv[j+6]) || lv[j+6] == '_') {
			return i, true
		}
	}
	return 0, false
}

// sqlVarTypes are the types a T-SQL variable is declared with.
var sqlVarTypes = map[string]bool{
	"varchar": true, "nvarchar": true, "char": true, "nchar": true, "int": true, "bigint": true, "table": true,
	"sysname": true, "varbinary": true, "cursor": true, "text": true, "ntext": true,
}

// statementKeywords start a statement that, stacked right after the
// attacker closed a string ("';select p", "';shutdown"), needs nothing
// more to be an injection: nobody ends a quotation with ';' glued to one.
var statementKeywords = map[string]bool{
	"select": true, "drop": true, "insert": true, "update": true, "delete": true, "exec": true,
	"execute": true, "declare": true, "shutdown": true, "waitfor": true, "create": true, "alter": true,
	"truncate": true, "union": true, "grant": true, "revoke": true, "merge": true, "call": true,
}

// endsStatement reports whether toks, what follows a quote closing a
// one-word value, are only a ';' ending the statement, maybe after ')' or a
// comment: "admin@juice-sh.op';", "7'/* x */;", the probe that tells the
// attacker the string was closed.
func endsStatement(toks []sqlTok) bool {
	i := 0
	for i < len(toks) && (toks[i].kind == ')' || blockComment(toks[i])) {
		i++
	}
	return i == len(toks)-1 && toks[i].kind == ';'
}

// cutOff reports whether a comment token ends the query there. A '#'
// glued to a word is an anchor or a directive ("#include", href="#top"),
// and "--" glued to one a command-line option ("`--libdir=lib`"), not a
// comment.
func cutOff(t string) bool {
	if len(t) > 2 && t[0] == '-' && t[2] >= 'a' && t[2] <= 'z' {
		return false
	}
	return t[0] != '#' || len(t) == 1 || t[1] == ' ' || t[1] == '\t' || t[1] == '\n' || t[1] == '\r' || t[1] == '#' || t[1] == '-'
}

// afterOperand checks what follows an operand the attacker closed (a number
// or a string): a logical operator with a condition, a stacked statement, a
// clause (ORDER BY, GROUP BY, HAVING, PROCEDURE, INTO), or a concatenation
// with a subquery or suspicious function.
func afterOperand(toks []sqlTok, quoted bool) bool {
	if len(toks) == 0 {
		return false
	}
	t := toks[0]
	switch {
	case t.kind == 'c':
		return quoted && cutOff(t.text)
	case t.kind == ';':
		return stackedStatement(toks[1:]) || quoted && len(toks) > 1 && (toks[1].kind == 'c' || toks[1].kind == 'w' && statementKeywords[toks[1].text])
	case t.kind == 'w' && sqlLogical[t.text] || t.kind == 'o' && sqlLogical[t.text]:
		return condition(toks[1:], quoted)
	case t.kind == 'w' && (t.text == "order" || t.text == "group") && len(toks) > 2 && toks[1].text == "by":
		if len(toks) > 4 && toks[3].text == "having" {
			return condition(toks[4:], quoted)
		}
		return toks[2].kind == '1' || toks[2].kind == 'w' && (len(toks) == 3 || toks[3].kind == 'c' || toks[3].kind == ',' || toks[3].kind == 's')
	case t.kind == 'w' && t.text == "having" && len(toks) > 1:
		return condition(toks[1:], quoted)
	case t.kind == 'w' && t.text == "procedure" && len(toks) > 1 && toks[1].text == "analyse":
		return true
	case t.kind == 'w' && t.text == "as" && len(toks) > 2 && toks[1].kind == 'w' && toks[2].kind == 'w' && toks[2].text == "where":
		// ") AS x WHERE 1=1 OR ...": the value closes a derived table,
		// names it, and goes on with a clause of its own.
		return afterOperand(toks[2:], quoted)
	case t.kind == 'w' && t.text == "where" && len(toks) > 3 && toks[1].kind == '1' && toks[2].text == "=" && toks[3].kind == '1':
		return true // "' WHERE 9544=9544;...": a clause on a constant comparison
	case t.kind == 'w' && t.text == "in" && len(toks) > 3 && toks[1].text == "boolean" && toks[2].text == "mode" && toks[3].kind == ')':
		// "' in boolean mode);...": MySQL's full-text search closed.
		return afterOperand(toks[4:], quoted)
	case t.kind == ',' && len(toks) > 3 && toks[1].kind == '(' && toks[2].kind == 'w' && toks[2].text == "select" && (caseWhen(toks[3:]) || len(toks) > 4 && toks[3].kind == '(' && caseWhen(toks[4:]) || delays(toks[3:])):
		// "1,(select (case when (5777=5777) then 1 else ... end))": a
		// boolean probe added to a list.
		return true
	case t.kind == 'w' && (t.text == "rlike" || t.text == "regexp") && len(toks) > 2 && toks[1].kind == '(' && toks[2].kind == 'w' && toks[2].text == "select":
		return true // "1)) rlike (select (case when ...": a subquery matched as a pattern
	case t.kind == '(' && len(toks) > 2 && toks[1].kind == 'w' && toks[1].text == "select":
		// "'))(select (case when ...": a subquery glued to what the
		// value closed.
		return selectList(toks[2:]) || delays(toks[2:])
	case t.kind == 'w' && t.text == "into" && len(toks) > 1 && (toks[1].text == "outfile" || toks[1].text == "dumpfile"):
		return true
	case t.kind == 'w' && (t.text == "rlike" || t.text == "regexp" || t.text == "like") && quoted:
		return len(toks) > 1 && (toks[1].kind == '(' || toks[1].kind == 's' && len(toks) > 2)
	case t.kind == 'o' && (t.text == "||" || t.text == "+" || t.text == "-" || t.text == "*" || t.text == "|" || t.text == "^" || t.text == "&" || t.text == "/" || t.text == "=") && len(toks) > 1:
		return suspiciousOperand(toks[1:])
	case quoted && t.kind == 'w' && (t.text == "union" || t.text == "select"):
		return true
	case quoted && t.kind == 'w' && (t.text == "insert" || t.text == "create" || t.text == "grant" || t.text == "drop" || t.text == "delete" || t.text == "update" || t.text == "exec" || t.text == "declare" || t.text == "truncate" || t.text == "alter"):
		// A statement right after the closed string, which SQL Server
		// runs without a ';': "' insert into users ... --".
		if quotedWords(toks) {
			return false // "the 'update x set' form": a phrase in quotes
		}
		return stackedStatement(toks) || t.text == "grant" && len(toks) > 2 && toks[2].text == "to" || t.text == "create" && len(toks) > 2 && toks[1].text == "user" && toks[len(toks)-1].kind == 'c'
	}
	return false
}

// condition checks the condition after a logical operator: a comparison,
// a suspicious function, a subquery, a lone truth value closed by a
// comment or by the query's own quote.
func condition(toks []sqlTok, quoted bool) bool {
	i := 0
	if i < len(toks) && toks[i].kind == 'w' && toks[i].text == "not" {
		i++
	}
	for i < len(toks) && toks[i].kind == '(' {
		i++
	}
	if i >= len(toks) {
		return false
	}
	if suspiciousOperand(toks[i:]) {
		return true
	}
	a := toks[i]
	if a.kind == 'w' && i+1 < len(toks) && toks[i+1].kind == '(' {
		// Any function's call as the condition: "x' or f(1)--",
		// "x' and not sqlite_compileoption_get (id)--", "1 or f(x)=1".
		// Closed by a comment or the query's own quote, or compared.
		j := closingParen(toks, i+1)
		if j < 0 {
			return false
		}
		rest := toks[j+1:]
		if len(rest) == 0 {
			return quoted
		}
		op := rest[0]
		if op.kind == 'c' || op.kind == ';' || op.kind == 's' && op.open {
			return true
		}
		if len(rest) < 2 || !sqlCompare[op.text] && !(op.kind == 'o' && strings.ContainsAny(op.text, "=<>")) {
			return false
		}
		b := rest[1]
		return b.kind == '1' || b.kind == 's' || b.kind == 'v' || b.kind == '(' || b.text == "null" || b.text == "not" || b.text == "true" || b.text == "false"
	}
	if a.kind != '1' && a.kind != 's' && !(a.kind == 'w' && (a.text == "true" || a.text == "false" || a.text == "null")) && a.kind != 'v' {
		// "x' or username like '%": identifiers compared with literals.
		if a.kind == 'w' && i+2 < len(toks) && sqlCompare[toks[i+1].text] && (toks[i+2].kind == 's' || toks[i+2].kind == '1') {
			return quoted || end(toks[i+3:])
		}
		// "or x=x", "or a=b#": a column compared with one, true as it
		// stands (the same name) or with the rest of the query cut off.
		if a.kind == 'w' && i+2 < len(toks) && toks[i+1].text == "=" && toks[i+2].kind == 'w' && !sqlLogical[toks[i+2].text] {
			return toks[i+2].text == a.text && (len(toks) == i+3 || toks[i+3].kind == 'c') || i+3 < len(toks) && toks[i+3].kind == 'c'
		}
		return false
	}
	rest := toks[i+1:]
	for len(rest) > 0 && rest[0].kind == ')' {
		rest = rest[1:]
	}
	if len(rest) == 0 {
		// "' or 1" / "' or '1": true as it stands, the quote left open
		// swallows the query's own closing quote.
		// "1 or true" holds for every row in a number's place too.
		return quoted && (a.kind != 's' || a.open || a.kind == '1') || a.kind == 'w' && a.text == "true"
	}
	op := rest[0]
	if op.kind == 'c' || op.kind == ';' {
		return true
	}
	if sqlCompare[op.text] || op.kind == 'o' && strings.ContainsAny(op.text, "=<>") {
		j := 1
		if j < len(rest) && (rest[j].text == "not" || rest[j].text == "null") {
			return true
		}
		for j < len(rest) && rest[j].kind == '(' {
			j++
		}
		return j < len(rest) && (rest[j].kind == '1' || rest[j].kind == 's' || rest[j].kind == 'v' || rest[j].kind == 'w')
	}
	if op.kind == 'o' && (op.text == "-" || op.text == "+" || op.text == "*") && len(rest) > 1 {
		return rest[1].kind == '1' || rest[1].kind == 's'
	}
	return false
}

// closingParen returns the index of the ')' that closes the '(' at
// toks[open], or -1 when the tokens end first.
func closingParen(toks []sqlTok, open int) int {
	depth := 0
	for j := open; j < len(toks); j++ {
		switch toks[j].kind {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// end reports whether the tokens close an injection: nothing, a comment, a
// ';', or a dangling string.
func end(toks []sqlTok) bool {
	for len(toks) > 0 && toks[0].kind == ')' {
		toks = toks[1:]
	}
	return len(toks) == 0 || toks[0].kind == 'c' || toks[0].kind == ';' || toks[0].kind == 's' && toks[0].open
}

// suspiciousOperand: "(select ...)", "sleep(5)", "@@version", "0x...".
func suspiciousOperand(toks []sqlTok) bool {
	i := 0
	for i < len(toks) && toks[i].kind == '(' {
		i++
	}
	if i >= len(toks) {
		return false
	}
	t := toks[i]
	switch t.kind {
	case 'w':
		if t.text == "select" {
			return i > 0 || selectList(toks[i+1:])
		}
		if sqlFuncs[t.text] && i+1 < len(toks) && toks[i+1].kind == '(' {
			return true
		}
		if t.text == "case" && i+1 < len(toks) && toks[i+1].text == "when" {
			return true
		}
		if t.text == "exists" || t.text == "waitfor" {
			return true
		}
		for _, o := range sqlObjects {
			if strings.HasPrefix(t.text, o) {
				return true
			}
		}
	case 'v':
		return strings.HasPrefix(t.text, "@@")
	case '1':
		return strings.HasPrefix(t.text, "0x") && len(t.text) > 4
	}
	return false
}

// selectList reports whether tokens look like the select list of a real
// query: a number, '*', null, a function call, a variable, or a column
// list leading to FROM.
func selectList(toks []sqlTok) bool {
	if len(toks) == 0 {
		return false
	}
	t := toks[0]
	switch {
	case t.kind == '1' || t.kind == 'v' || t.kind == 's' || t.kind == '(':
		return true
	case t.kind == 'o' && t.text == "*":
		return true
	case t.kind == 'o' && (t.text == "+" || t.text == "-" || t.text == "~") && len(toks) > 1 && toks[1].kind != 'o':
		// "select+sleep(8)", "Select-1": a sign before the first
		// expression, which keeps the keyword and it apart without a
		// space.
		return selectList(toks[1:])
	case t.kind == 'w':
		if t.text == "null" || t.text == "all" || t.text == "distinct" || t.text == "top" || t.text == "case" {
			return true
		}
		if len(toks) > 1 && (toks[1].kind == '(' || toks[1].kind == ',' || toks[1].kind == '.' || toks[1].text == "from" || toks[1].kind == 'c') {
			return true
		}
	}
	return false
}

// unionSelect finds UNION [ALL] SELECT near the start of the tokens, where
// an injection puts it (after the operand it closed); further in, it is a
// query someone wrote out.
func unionSelect(toks []sqlTok) (int, bool) {
	for i := 0; i < len(toks) && i < 6; i++ {
		if toks[i].kind != 'w' || toks[i].text != "union" {
			continue
		}
		j := i + 1
		for j < len(toks) && (toks[j].kind == 'c' || toks[j].kind == '(' || toks[j].kind == 'w' && (toks[j].text == "all" || toks[j].text == "distinct" || toks[j].text == "distinctrow")) {
			j++
		}
		if j < len(toks) && toks[j].kind == 'w' && toks[j].text == "select" && selectList(toks[j+1:]) {
			return toks[i].start, true
		}
	}
	return 0, false
}

func blockComment(t sqlTok) bool { return t.kind == 'c' && strings.HasPrefix(t.text, "/*") }

// stackedStatement judges the tokens after a ';'. They come without inline
// comments (withoutInlineComments): "DROP/*x*/TABLE t" is "DROP TABLE t".
func stackedStatement(toks []sqlTok) bool {
	if len(toks) > 2 && toks[0].kind == '(' && toks[1].kind == 'w' && toks[1].text == "select" {
		// "; (select * from (select(sleep(5)))x)": a statement in
		// parentheses.
		return selectList(toks[2:]) || delays(toks[2:])
	}
	if len(toks) > 4 && toks[0].kind == 'w' && (toks[0].text == "iif" || toks[0].text == "if") && toks[1].kind == '(' && toks[2].kind == '1' && toks[3].text == "=" && toks[4].kind == '1' {
		return true // "; iif(5462=8866,1,1/0)": a conditional error
	}
	if len(toks) == 0 || toks[0].kind != 'w' {
		return false
	}
	if isTimeFunc(toks[0].text) && len(toks) > 2 && toks[1].kind == '(' && toks[2].kind == '1' {
		// "; sleep(5)": a delay stacked after the query (MySQL runs a
		// bare SLEEP as a statement in some clients, SQLite's
		// randomblob in an expression).
		return true
	}
	next, ok := sqlStatement[toks[0].text]
	if !ok {
		return false
	}
	if len(toks) == 1 {
		return toks[0].text == "shutdown"
	}
	t1 := toks[1]
	switch toks[0].text {
	case "select":
		return selectList(toks[1:])
	case "update":
		return len(toks) > 2 && t1.kind == 'w' && toks[2].text == "set"
	case "exec", "execute":
		return t1.kind == 'w' && (strings.HasPrefix(t1.text, "xp_") || strings.HasPrefix(t1.text, "sp_") || t1.text == "master" || t1.text == "immediate") || t1.kind == '(' || t1.kind == 'v'
	case "declare", "set":
		return t1.kind == 'v'
	case "shutdown":
		return t1.kind == 'c' || t1.kind == ';' || t1.text == "with"
	case "grant":
		return t1.text == "all" || t1.text == "select" || t1.text == "execute"
	case "union", "call", "copy", "if":
		return t1.kind == '(' || t1.kind == 'w' && len(toks) > 2 && (toks[2].kind == '(' || toks[2].text == "select")
	}
	for _, w := range next {
		if t1.text == w {
			return true
		}
	}
	return false
}

// HeaderTakesFreeText reports whether the detectors treat header h as free
// text; the other headers browsers send have grammars an engine can check
// instead (see StructuredHeaderValue).
func HeaderTakesFreeText(h string) bool { return headerTakesFreeText(h) }

// StructuredHeaderValue reports whether v keeps to the characters of the
// token lists, media ranges, quality values and dates of structured
// headers (Accept, Accept-Encoding, Cache-Control, ...): nothing a
// detector could flag.
func StructuredHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(" ,;=./*+_-:?", c) >= 0) {
			return false
		}
	}
	return true
}

// headerTakesFreeText reports whether a header's value is free text an
// attacker controls and an application may store or query with (as opposed
// to structured headers browsers send, whose grammar leaves no room for
// SQL).
func headerTakesFreeText(h string) bool {
	switch h {
	case "accept", "accept-encoding", "accept-language", "cache-control", "connection", "content-length",
		"content-type", "upgrade-insecure-requests", "sec-fetch-dest", "sec-fetch-mode", "sec-fetch-site",
		"sec-fetch-user", "sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform", "pragma", "te",
		"if-modified-since", "if-none-match", "priority", "dnt", "content-encoding", "transfer-encoding",
		"keep-alive", "authorization":
		return false
	}
	return true
}

// dbInternals are functions and objects of database servers that only
// reading files, running commands, waiting or mapping the schema uses;
// none is a word of any language an application receives. Schema names
// (information_schema, pg_catalog) are left out: SQL documentation
// names them.
var dbInternals = []string{
	"pg_sleep(", "lo_import(", "lo_export(", "pg_read_file(", "pg_read_binary_file(", "pg_ls_dir(",
	"dbms_pipe.receive_message", "dbms_lock.sleep", "utl_http.request", "utl_inaddr.get_host",
	"xp_cmdshell", "xp_dirtree", "xp_regread", "sp_oacreate", "sp_makewebtask", "load_file(",
	"sys_eval(", "sys_exec(", "extractvalue(", "updatexml(", "name_const(",
	"waitfor delay '", "waitfor time '", "into outfile '", "into dumpfile '", "load data infile '", "load data local infile '",
	// Error-based extraction (sqlmap's payloads): functions that put a
	// query's result into an error message, and the dummy tables they
	// select from.
	"gtid_subset(", "gtid_subtract(", "raise_error(", "json_keys((select", "exp(~(select", "xmltype(chr(",
	"rdb$database", "sysibm.sysdummy1", "information_schema.plugins", "ctxsys.drithsx.sn(",
	"dbms_utility.sqlid_to_sqlhash(", "utl_inaddr.get_host_name(", "dbms_xdb_version.checkin(",
}

var dbInternalSet = newSubstrings(dbInternals)

// pgCastTypes are the types a PostgreSQL cast (x::type) names in error
// and boolean probes: "starts_with(password,'a')::int", "'{..}'::jsonb".
var pgCastTypes = []string{"int", "integer", "bool", "boolean", "text", "json", "jsonb", "varchar", "numeric", "regclass", "oid", "bytea", "float"}

func checkSQLiInternals(v, lv string, f Features, c *Context) (int, int, bool) {
	// Every entry holds a '_', a '(' or a quote; a cast needs "::".
	if f&(fOther|fParen|fQuote|fColon) == 0 {
		return 0, 0, false
	}
	start, end := 0, 0
	found := dbInternalSet.each(lv, func(e, i int) bool {
		if i > 0 && isWordByte(lv[i-1]) && isWordByte(dbInternals[e][0]) {
			return false // a name that ends with one: "pkg_name_const()"
		}
		start, end = i, i+len(dbInternals[e])
		return true
	})
	if found {
		return start, end, true
	}
	if f&fParen != 0 {
		if e, ok := unclosedSQLCall(lv); ok {
			return 0, e, true
		}
	}
	if f&fOther != 0 {
		switch strings.Trim(lv, " \t'\"`") {
		case "information_schema", "pg_catalog", "sysobjects", "syscolumns", "mysql.user", "sys.tables", "all_tables", "user_tables":
			// The catalog itself as the whole value: a probe for what
			// the query reads from.
			return 0, len(v), true
		}
	}
	if f&fColon == 0 {
		return 0, 0, false
	}
	for i := range occurrences(lv, "::") {
		// A literal or a call closed just before the cast.
		if i == 0 || lv[i-1] != '\'' && lv[i-1] != ')' {
			continue
		}
		for _, t := range pgCastTypes {
			e := i + 2 + len(t)
			if strings.HasPrefix(lv[i+2:], t) && (e == len(lv) || !isWordByte(lv[e])) {
				return i, e, true
			}
		}
	}
	return 0, 0, false
}
