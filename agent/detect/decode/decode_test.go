package decode

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/palisadewaf/palisade/cloud/apiv1/point"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                     "plain",
		"%27%20OR%201%3D1":          "' OR 1=1",
		"%2527":                     "'",
		"%252527":                   "'",
		"%u003Cscript%u003E":        "<script>",
		"%uFF1Cscript%uFF1E":        "<script>",
		"..%c0%af..%c1%9c":          "../..\\",
		"%c0%ae%C0%AE%c0":           "..\xc0",
		"caf%c3%a9":                 "café",
		"&lt;script&gt;":            "<script>",
		"&#60;&#x3C;&#0000060":      "<<<",
		`\u003cimg\x3e`:             "<img>",
		`\u{3c}`:                    "<",
		"1%2BOR%2B1%3D1":            "1 OR 1=1",
		"john%2Bnews%40example.com": "john+news@example.com",
		"100%":                      "100%",
		"%zz&unknown;\\q":           "%zz&unknown;\\q",
		"&amp;lt;":                  "<",
		"C++ and 50%25 off":         "C++ and 50% off",
		"..%u2215..%u2215etc":       "../../etc",
		// Inside markup, escaped brackets and quotes are text.
		"<code>&lt;script&gt;</code>":              "<code>&lt;script&gt;</code>",
		`<a title="&quot;x&quot;">&#60;b&#62;</a>`: `<a title="&quot;x&quot;">&#60;b&#62;</a>`,
		"<p>Tom &amp; Jerry&#33;</p>":              "<p>Tom & Jerry!</p>",
		"x &lt; y":                                 "x < y",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

type rec struct {
	stack []point.Step
	out   []string
	decls []string
}

func (r *rec) Enter(s point.Step) { r.stack = append(r.stack, s) }
func (r *rec) Leave()             { r.stack = r.stack[:len(r.stack)-1] }
func (r *rec) Value(v string) {
	r.out = append(r.out, point.New(point.RootBody, r.stack...).String()+"="+v)
}
func (r *rec) Name(string)          {}
func (r *rec) Declaration(d string) { r.decls = append(r.decls, d) }
func (r *rec) String() string       { return strings.Join(r.out, " ") }

var lim = Limits{MaxDepth: 8, MaxItems: 100}

func TestJSON(t *testing.T) {
	var r rec
	if err := JSON(`{"a":{"b":[1,"x\u0041\n",true]},"c.d":null}`, lim, &r); err != nil {
		t.Fatal(err)
	}
	want := `body.a.b[0]=1 body.a.b[1]=xA` + "\n" + ` body.a.b[2]=true body["c.d"]=null`
	if r.String() != want {
		t.Errorf("got %q\nwant %q", r.String(), want)
	}
	if err := JSON(strings.Repeat("[", 9)+strings.Repeat("]", 9), lim, &rec{}); !errors.Is(err, ErrTooDeep) {
		t.Errorf("deep: %v", err)
	}
	for _, bad := range []string{`{"a"}`, `[1,]`, `{"a":1}x`, `"abc`, `{"a":tru}`} {
		if err := JSON(bad, lim, &rec{}); err == nil {
			t.Errorf("JSON(%q) accepted", bad)
		}
	}
}

func TestXML(t *testing.T) {
	var r rec
	doc := `<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><s:a xmlns:s="u" id="7"><b>t&x;</b><![CDATA[<c>]]></s:a>`
	if err := XML(doc, lim, &r); err != nil {
		t.Fatal(err)
	}
	if want := `body.a@id=7 body.a.b=t&x; body.a=<c>`; r.String() != want {
		t.Errorf("got %q, want %q", r.String(), want)
	}
	if len(r.decls) != 1 || !strings.Contains(r.decls[0], "<!ENTITY x SYSTEM") {
		t.Errorf("declarations %q", r.decls)
	}
}

func TestGraphQL(t *testing.T) {
	var r rec
	doc := `query Q($v: Int = 3) { u: user(id: "1", f: {name: "x", tags: ["a", B]}) @include(if: $v) { posts(first: 5) { id } ...F } }`
	if err := GraphQL(doc, lim, &r); err != nil {
		t.Fatal(err)
	}
	want := `body.user.id=1 body.user.f.name=x body.user.f.tags[0]=a body.user.f.tags[1]=B body.user.posts.first=5`
	if r.String() != want {
		t.Errorf("got %q\nwant %q", r.String(), want)
	}
}

func TestMultipartFormCookies(t *testing.T) {
	body := "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\none\r\n--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\nContent-Type: text/plain\r\n\r\ntwo\r\nlines\r\n--b--\r\n"
	var parts []Part
	if err := Multipart(body, "b", 10, func(p Part) { parts = append(parts, p) }); err != nil {
		t.Fatal(err)
	}
	if len(parts) != 2 || parts[0].Data != "one" || parts[1].Filename != "x.txt" || parts[1].Data != "two\r\nlines" || parts[1].ContentType != "text/plain" {
		t.Errorf("parts %+v", parts)
	}
	var got []string
	Form("a=1&a=2&b=x+y%21&&c", 10, func(n, v, _, _ string) { got = append(got, n+"="+v) })
	if strings.Join(got, ",") != "a=1,a=2,b=x y!,c=" {
		t.Errorf("form %q", got)
	}
	got = nil
	Cookies(` s=abc; t="q d" ;u`, 10, func(n, v string) { got = append(got, n+"="+v) })
	if strings.Join(got, ",") != "s=abc,t=q d,u=" {
		t.Errorf("cookies %q", got)
	}
}

func TestBase64AndJWT(t *testing.T) {
	if v, ok := Base64("JyBPUiAxPTEtLQ=="); !ok || v != "' OR 1=1--" {
		t.Errorf("Base64 = %q %v", v, ok)
	}
	// Bracketed expressions without letters are text too.
	for s, want := range map[string]string{"JHs3Kjd9": "${7*7}", "PCU9IDcqNyAlPg==": "<%= 7*7 %>"} {
		if v, ok := Base64(s); !ok || v != want {
			t.Errorf("Base64(%q) = %q %v, want %q", s, v, ok, want)
		}
	}
	for _, s := range []string{"password", "d41d8cd98f00b204e9800998ecf8427e", "MTIzNDU2Nzg5MA", "hello world", "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"} {
		if v, ok := Base64(s); ok {
			t.Errorf("Base64(%q) decoded to %q", s, v)
		}
	}
	h, p, ok := JWT("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.")
	if !ok || h != `{"alg":"none"}` || p != `{"sub":"a"}` {
		t.Errorf("JWT = %q %q %v", h, p, ok)
	}
}

func TestInflate(t *testing.T) {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(bytes.Repeat([]byte("a"), 1<<20))
	w.Close()
	if _, err := Inflate(b.Bytes(), "gzip", 8<<20, 100); !errors.Is(err, ErrBomb) {
		t.Errorf("ratio bomb: %v", err)
	}
	out, err := Inflate(b.Bytes(), "gzip", 8<<20, 1<<20)
	if err != nil || len(out) != 1<<20 {
		t.Errorf("inflate: %d bytes, %v", len(out), err)
	}
}

// FuzzStructural feeds the structural decoders arbitrary documents: no
// panic, balanced walks, bounded output.
func FuzzStructural(f *testing.F) {
	f.Add(byte(0), `{"a":[1,{"b":"\ud83d\ude00"}]}`)
	f.Add(byte(1), `<a x='1'><b>t</b><!DOCTYPE [<!ENTITY e "&f;">]></a>`)
	f.Add(byte(2), `query { a(b: {c: [1, "d"]}) { e ...F } }`)
	f.Add(byte(3), "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--b--")
	f.Fuzz(func(t *testing.T, kind byte, doc string) {
		r := &rec{}
		lim := Limits{MaxDepth: 16, MaxItems: 200}
		switch kind % 4 {
		case 0:
			_ = JSON(doc, lim, r)
		case 1:
			_ = XML(doc, lim, r)
		case 2:
			_ = GraphQL(doc, lim, r)
		case 3:
			_ = Multipart(doc, "b", 50, func(p Part) {
				if len(p.Data) > len(doc) {
					t.Fatalf("part larger than the body")
				}
			})
		}
		if len(r.out) > 2*lim.MaxItems {
			t.Fatalf("%d values over the limit", len(r.out))
		}
		if len(r.stack) > lim.MaxDepth+2 {
			t.Fatalf("stack %d deeper than the limit", len(r.stack))
		}
	})
}

// FuzzTransforms: the transparent decoders never panic, never grow a value,
// and Normalize is stable after its rounds.
func FuzzTransforms(f *testing.F) {
	for _, s := range []string{"%2527", "&#x3c;&lt", `\u{1F600}\x41`, "%uFF1C", "JyBPUiAxPTEtLQ==", "eyJhIjoxfQ.eyJiIjoyfQ.x", "<\tscript>", "a\tl\te\tr\tt", "SCR\u0130PT", "1+union+select"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if len(n) > len(s)*2+8 {
			t.Fatalf("Normalize grew %d bytes to %d", len(s), len(n))
		}
		Base64(s)
		JWT(s)
		Percent(s)
		HTMLEntities(s)
		JSEscapes(s)
		// The extra readings never grow a value (FoldCaseMapped shrinks
		// each letter it maps) and change it only when they say so.
		for name, read := range map[string]func(string) (string, bool){"StripInvisible": StripInvisible, "StripBreaks": StripBreaks, "FoldCaseMapped": FoldCaseMapped, "PlusAsSpace": PlusAsSpace} {
			r, ok := read(s)
			if len(r) > len(s) {
				t.Fatalf("%s grew %q to %q", name, s, r)
			}
			if !ok && r != s && r != "" {
				t.Fatalf("%s changed %q to %q without saying so", name, s, r)
			}
		}
	})
}

// FuzzInflate: any compressed input inflates within the limit or errors.
func FuzzInflate(f *testing.F) {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte("hello hello hello"))
	w.Close()
	f.Add(b.Bytes(), true)
	f.Add([]byte{0x78, 0x9c, 0x4b, 0x04, 0x00}, false)
	f.Fuzz(func(t *testing.T, data []byte, gz bool) {
		enc := "deflate"
		if gz {
			enc = "gzip"
		}
		out, _ := Inflate(data, enc, 1<<20, 50)
		if len(out) > 1<<20 || len(out) > len(data)*50+1024 {
			t.Fatalf("inflated %d bytes from %d", len(out), len(data))
		}
	})
}

// TestValidUTF8MatchesToValidUTF8 checks validUTF8 against the test it
// replaced on every short byte sequence of interesting bytes.
func TestValidUTF8MatchesToValidUTF8(t *testing.T) {
	bytes := []byte{0x00, 'a', 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff}
	var walk func(b []byte)
	walk = func(b []byte) {
		want := len(b) > 1 && strings.ToValidUTF8(string(b), "\uFFFD") == string(b)
		if got := validUTF8(b); got != want {
			t.Fatalf("validUTF8(% x) = %v, want %v", b, got, want)
		}
		if len(b) == 4 {
			return
		}
		for _, c := range bytes {
			walk(append(b, c))
		}
	}
	walk(nil)
}

// TestFormUnescapeOnePass checks FormUnescape against what it does in one
// pass: '+' to space, then percent decoding.
func TestFormUnescapeOnePass(t *testing.T) {
	pieces := []string{"+", "%", "%2", "%2B", "%20", "%u", "%u00", "%uFF1C", "%U0041", "%+1", "%%", "a", "Z", " ", "é", "%zz", "%e9", "%c0", "%af", "%c1%9c"}
	rng := rand.New(rand.NewPCG(4, 9))
	for n := 0; n < 50000; n++ {
		var b strings.Builder
		for k := rng.IntN(8); k >= 0; k-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s := b.String()
		if got, want := FormUnescape(s), Percent(strings.ReplaceAll(s, "+", " ")); got != want {
			t.Fatalf("FormUnescape(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestBoundary(t *testing.T) {
	for ct, want := range map[string]string{
		`multipart/form-data; boundary=abc`:       "abc",
		`multipart/form-data; boundary="a b"`:     "a b",
		`multipArt/x; BoundArY=zz; x`:             "zz",
		"multipart/\x80; boundary=q":              "q", // invalid UTF-8 before the parameter: offsets kept
		"multipArt/\x80BoundArY=":                 "",
		`multipart/form-data`:                     "",
		`multipart/form-data; boundary=`:          "",
		"multipart/\xff\xfe\xfd boundary=\"x\";y": "x",
	} {
		got, err := Boundary(ct)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("Boundary(%q) = %q, %v; want %q", ct, got, err, want)
		}
	}
}

func TestStripInvisible(t *testing.T) {
	for in, want := range map[string]string{
		"un\u200bion se\u200blect": "union select",
		"<\u202escript>":           "<script>",
		"scr\x00ipt":               "script",
		"\ufeffselect\u00ad":       "select",
	} {
		got, ok := StripInvisible(in)
		if !ok || got != want {
			t.Errorf("StripInvisible(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"plain text", "café naïve €", ""} {
		if got, ok := StripInvisible(in); ok || got != in {
			t.Errorf("StripInvisible(%q) = %q, %v; want it unchanged", in, got, ok)
		}
	}
}

func TestFoldCaseMapped(t *testing.T) {
	for in, want := range map[string]string{
		"<SCR\u0130PT>alert(1)</SCR\u0130PT>": "<SCRIPT>alert(1)</SCRIPT>",
		"<\u017fcript>":                       "<script>",
		"un\u0131on":                          "union",
		"＜script＞alert(1)＜/script＞":           "<script>alert(1)</script>",
		"23＇\u3000UNION SELECT":               "23' UNION SELECT",
		"x\xef\xbc":                           "x\xef\xbc", // a cut-off fullwidth form stays as it is
	} {
		if got, ok := FoldCaseMapped(in); !ok || got != want {
			t.Errorf("FoldCaseMapped(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if got, ok := FoldCaseMapped("İstanbul"); !ok || got != "Istanbul" {
		t.Errorf("FoldCaseMapped(İstanbul) = %q, %v", got, ok)
	}
	if _, ok := FoldCaseMapped("plain café"); ok {
		t.Errorf("FoldCaseMapped changed plain text")
	}
	if got, ok := FoldCaseMapped("你好（测试），明天见！"); ok {
		t.Errorf("FoldCaseMapped folded the punctuation of Chinese text: %q", got)
	}
}

func TestStripBreaks(t *testing.T) {
	for in, want := range map[string]string{
		"<\n\rscript\n\r>alert\n\r(\n\r'1'\n\r)": "<script>alert('1')",
		"<\tsvg\tonload=alert(1)>":               "<svgonload=alert(1)>",
		"a\tl\te\tr\tt(1)":                       "alert(1)",
	} {
		got, ok := StripBreaks(in)
		if !ok || got != want {
			t.Errorf("StripBreaks(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"Regards,\r\nJohn\r\nACME", "name\tvalue\tcount", "a\tb", "x < \ty", "plain"} {
		if got, ok := StripBreaks(in); ok || got != in {
			t.Errorf("StripBreaks(%q) = %q, %v; want it unchanged", in, got, ok)
		}
	}
}

func TestPlusMatters(t *testing.T) {
	for raw, want := range map[string]bool{
		"'+alert(1)+'":               true,
		"1)+(select":                 true,
		"x%20'+alert(1)+'+y+z":       true, // spaces are %20: the '+' are '+'
		"hello+world":                false,
		"see+(e.g.+this)+and+that":   false,
		"c++":                        true,
		"no-plus-at-all":             false,
		"%22climate+change%22+AND+(": false,
		"(![]+[])[+!+[]]":            true,
		"+ADw-script+AD4-alert(1)":   true,
	} {
		if got := PlusMatters(raw); got != want {
			t.Errorf("PlusMatters(%q) = %v, want %v", raw, got, want)
		}
	}
}

func TestNormalizeKeepingPlus(t *testing.T) {
	if got := Normalize("%23%7B1%2B1%7D"); got != "#{1 1}" {
		t.Errorf("Normalize = %q", got)
	}
	if got := NormalizeKeepingPlus("%23%7B1%2B1%7D"); got != "#{1+1}" {
		t.Errorf("NormalizeKeepingPlus = %q", got)
	}
}

func TestOctalEscapesAndPaddedEntities(t *testing.T) {
	for in, want := range map[string]string{
		`[]['\146\151\154\164\145\162']`:     "[]['filter']",
		`'\74img/src/onerror\75alert(1)\76'`: "'<img/src/onerror=alert(1)>'",
		`C:\100x`:                            `C:\100x`, // one escape: a path as likely
		"prompt&#00000000000000000040;1&#00000000000000000041;": "prompt(1)",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCookiesCommas(t *testing.T) {
	var got []string
	Cookies(`a=1, b=2; c=alert.call(null,1); d="x, y"`, 10, func(n, v string) { got = append(got, n+"="+v) })
	want := []string{"a=1", "b=2", "c=alert.call(null,1)", "d=x, y"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Cookies = %q, want %q", got, want)
	}
}

func TestPlusAsSpace(t *testing.T) {
	for in, want := range map[string]string{
		"1+union+select+1,2,3--":           "1 union select 1,2,3--",
		"1++union++select++abc++from++abc": "1  union  select  abc  from  abc",
	} {
		if got, ok := PlusAsSpace(in); !ok || got != want {
			t.Errorf("PlusAsSpace(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"C++", "C++ and C#", "john+news@example.com", "a+++b", "+1"} {
		if got, ok := PlusAsSpace(in); ok {
			t.Errorf("PlusAsSpace(%q) = %q, want it kept", in, got)
		}
	}
}

func TestLocate(t *testing.T) {
	for _, c := range []struct {
		origin, reading, at string // at: the reading from the offset on
		want                int    // offset in origin
	}{
		{"un\u200bion se\u200blect", "union select", "select", len("un\u200bion ")},
		{"un\u200bion se\u200blect", "union select", "ion", len("un\u200b")},
		{"＜script＞alert(1)", "<script>alert(1)", "alert", len("＜script＞")},
		{"<SCR\u0130PT>x", "<SCRIPT>x", "PT>", len("<SCR\u0130")},
		{"<\tscript\t>", "<script>", ">", len("<\tscript\t")},
		{"1 union select", "1+union+select", "select", len("1 union ")},
		{`0\"XOR(sleep(9))`, `0"XOR(sleep(9))`, "XOR", len(`0\"`)},
		{"abc", "abc", "c", 2},
		{"abc", "xyz", "z", 3}, // not a reading of origin
	} {
		i := strings.Index(c.reading, c.at)
		if got := Locate(c.origin, c.reading, i); got != c.want {
			t.Errorf("Locate(%q, %q, %d) = %d, want %d", c.origin, c.reading, i, got, c.want)
		}
	}
	if got := Locate("union", "union", 99); got != 5 {
		t.Errorf("Locate past the end = %d", got)
	}
	if got := Locate("un\x00ion", "union", 5); got != 6 {
		t.Errorf("Locate at the end = %d", got)
	}
}
