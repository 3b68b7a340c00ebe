package mask

import (
	"regexp"
	"strings"
)

// A valueDetector finds sensitive values by their shape, wherever they sit.
type valueDetector struct {
	// id names the detector in metrics and docs ("card", "jwt", ...).
	id string
	// anchors are substrings one of which every match contains; text
	// without any is skipped without running the expression (regular
	// expressions are most of masking's cost). pre, when set, is a
	// cheaper test for detectors without a fixed substring.
	anchors []string
	pre     func(string) bool
	re      *regexp.Regexp
	// group selects the submatch to mask (0: the whole match).
	group int
	// valid, when set, confirms a match (checksums).
	valid func(string) bool
	// find replaces re for detectors written by hand.
	find func(text string, dst []span) []span
}

// span is a byte range [start, end) of a text that must be masked. key,
// when set, is the sensitive value the range encodes (the correlation hash
// is computed over it, so that every encoding of a value gets one tag).
type span struct {
	start, end int
	key        string
}

// valueDetectors is the built-in list; docs/MASKING.md documents it.
var valueDetectors = []valueDetector{
	{id: "card", find: findCards},
	{id: "email", anchors: []string{"@"}, re: regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)},
	{id: "jwt", anchors: []string{"eyJ"}, re: regexp.MustCompile(`eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*`)},
	{id: "auth-scheme", pre: hasAuthScheme, re: regexp.MustCompile(`(?i)\b(?:bearer|basic|digest|token|negotiate|ntlm|apikey)\s+([A-Za-z0-9._~+/=\-]{6,})`), group: 1},
	{id: "private-key", anchors: []string{"PRIVATE KEY"}, re: regexp.MustCompile(`(?s)-----BEGIN[A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----.*?(?:-----END[A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|$)`)},
	{id: "url-credentials", anchors: []string{"://"}, re: regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.\-]*://([^/\s:@]+:[^/\s@]+)@`), group: 1},
	{id: "aws-access-key", anchors: []string{"AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "ANPA", "ANVA", "AROA", "APKA"}, re: regexp.MustCompile(`\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA)[A-Z0-9]{16}\b`)},
	{id: "github-token", anchors: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"}, re: regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{36,255}`)},
	{id: "github-pat", anchors: []string{"github_pat_"}, re: regexp.MustCompile(`github_pat_[A-Za-z0-9_]{22,255}`)},
	{id: "gitlab-token", anchors: []string{"glpat-"}, re: regexp.MustCompile(`glpat-[A-Za-z0-9_\-]{20,}`)},
	{id: "slack-token", anchors: []string{"xox"}, re: regexp.MustCompile(`xox[abposr]-[A-Za-z0-9\-]{10,}`)},
	{id: "slack-webhook", anchors: []string{"hooks.slack.com"}, re: regexp.MustCompile(`hooks\.slack\.com/services/[A-Za-z0-9/_\-]+`)},
	{id: "stripe-key", anchors: []string{"k_live_", "k_test_"}, re: regexp.MustCompile(`\b[sr]k_(?:live|test)_[A-Za-z0-9]{10,}`)},
	{id: "stripe-webhook-secret", anchors: []string{"whsec_"}, re: regexp.MustCompile(`whsec_[A-Za-z0-9]{20,}`)},
	{id: "google-api-key", anchors: []string{"AIza"}, re: regexp.MustCompile(`AIza[0-9A-Za-z_\-]{35}`)},
	{id: "google-oauth-token", anchors: []string{"ya29."}, re: regexp.MustCompile(`ya29\.[0-9A-Za-z_\-]{20,}`)},
	{id: "openai-anthropic-key", anchors: []string{"sk-"}, re: regexp.MustCompile(`\bsk-(?:proj-|ant-[a-z0-9]+-)?[A-Za-z0-9_\-]{20,}`)},
	{id: "npm-token", anchors: []string{"npm_"}, re: regexp.MustCompile(`\bnpm_[A-Za-z0-9]{36}`)},
	{id: "pypi-token", anchors: []string{"pypi-"}, re: regexp.MustCompile(`pypi-AgE[A-Za-z0-9_\-]{50,}`)},
	{id: "sendgrid-key", anchors: []string{"SG."}, re: regexp.MustCompile(`\bSG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}`)},
	{id: "twilio-key", anchors: []string{"SK"}, re: regexp.MustCompile(`\bSK[0-9a-fA-F]{32}\b`)},
	{id: "shopify-token", anchors: []string{"shpat_", "shpca_", "shppa_", "shpss_"}, re: regexp.MustCompile(`\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}`)},
	{id: "digitalocean-token", anchors: []string{"_v1_"}, re: regexp.MustCompile(`\bdo[por]_v1_[a-f0-9]{64}`)},
	{id: "huggingface-token", anchors: []string{"hf_"}, re: regexp.MustCompile(`\bhf_[A-Za-z0-9]{34,}`)},
	// Palisade's own credentials (enrollment, node, console tokens), as
	// the cloud's scanner (cloud/sensitive) knows them.
	{id: "palisade-secret", anchors: []string{"pcs_", "pct_", "pce_", "pcn_"}, re: regexp.MustCompile(`\bpc[sten]_[A-Za-z0-9_\-]{43}`)},
	{id: "iban", pre: mayHoldIBAN, re: regexp.MustCompile(`\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}\b`), valid: validIBAN},
}

// findValues appends to dst the spans of every value detector match in
// text.
func findValues(text string, dst []span) []span {
	for i := range valueDetectors {
		d := &valueDetectors[i]
		if d.anchors != nil && !containsAny(text, d.anchors) || d.pre != nil && !d.pre(text) {
			continue
		}
		if d.find != nil {
			dst = d.find(text, dst)
		} else {
			for _, m := range d.re.FindAllStringSubmatchIndex(text, -1) {
				s, e := m[2*d.group], m[2*d.group+1]
				if s < 0 || (d.valid != nil && !d.valid(text[s:e])) {
					continue
				}
				dst = append(dst, span{start: s, end: e})
			}
		}
	}
	return dst
}

// findCards finds runs of 13 to 19 digits, optionally grouped by single
// spaces or dashes, that pass the Luhn check and start like a payment card
// (2 to 6: Mastercard, Visa, Amex, Discover, JCB, UnionPay, Maestro). The
// leading-digit rule keeps Unix millisecond timestamps and most numeric ids
// out.
func findCards(text string, dst []span) []span {
	for i := 0; i < len(text); {
		if !isDigit(text[i]) {
			i++
			continue
		}
		start, end, digits := i, i, 0
		j := i
		for j < len(text) {
			if isDigit(text[j]) {
				digits++
				j++
				end = j
				continue
			}
			if (text[j] == ' ' || text[j] == '-') && j+1 < len(text) && isDigit(text[j+1]) {
				j++
				continue
			}
			break
		}
		i = max(end, i+1)
		if digits < 13 || digits > 19 || text[start] < '2' || text[start] > '6' {
			continue
		}
		if luhn(text[start:end]) {
			dst = append(dst, span{start: start, end: end})
		}
	}
	return dst
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// luhn checks the Luhn (mod 10) checksum of the digits in s, ignoring
// separators.
func luhn(s string) bool {
	sum, double := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		if !isDigit(s[i]) {
			continue
		}
		d := int(s[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// validIBAN checks the ISO 13616 mod-97 checksum.
func validIBAN(s string) bool {
	s = strings.ReplaceAll(s, " ", "")
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	rem := 0
	for _, c := range s[4:] + s[:4] {
		switch {
		case c >= '0' && c <= '9':
			rem = (rem*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			rem = (rem*100 + int(c-'A') + 10) % 97
		default:
			return false
		}
	}
	return rem == 1
}

func containsAny(text string, subs []string) bool {
	for _, s := range subs {
		if strings.Contains(text, s) {
			return true
		}
	}
	return false
}

// authSchemes are the Authorization schemes whose credentials are masked.
var authSchemes = []string{"bearer", "basic", "digest", "token", "negotiate", "ntlm", "apikey"}

// hasAuthScheme reports whether text may hold a scheme word followed by
// white space (the auth-scheme expression is case-insensitive, which the
// regexp package runs slowly).
func hasAuthScheme(text string) bool {
	for i := 0; i < len(text); i++ {
		c := text[i] | 0x20
		if c != 'b' && c != 'd' && c != 't' && c != 'n' && c != 'a' {
			continue
		}
		for _, w := range authSchemes {
			if len(text)-i > len(w) && strings.EqualFold(text[i:i+len(w)], w) {
				return true
			}
		}
	}
	return false
}

// mayHoldIBAN reports whether text has two capital letters followed by two
// digits, how every IBAN starts.
func mayHoldIBAN(text string) bool {
	for i := 0; i+4 <= len(text); i++ {
		if text[i] >= 'A' && text[i] <= 'Z' && text[i+1] >= 'A' && text[i+1] <= 'Z' && isDigit(text[i+2]) && isDigit(text[i+3]) {
			return true
		}
	}
	return false
}
