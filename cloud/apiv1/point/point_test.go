package point

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseCanonical(t *testing.T) {
	// Each input parses, and prints back as want (the canonical form).
	tests := []struct{ in, want string }{
		{"path", "path"},
		{"path[0]", "path[0]"},
		{"query", "query"},
		{"query.id", "query.id"},
		{`query["user[name]"]`, `query["user[name]"]`},
		{`query["id"]`, "query.id"},
		{"header.Authorization", "header.authorization"},
		{`header["X.Weird"]`, `header["x.weird"]`},
		{"cookie.session|base64", "cookie.session|base64"},
		{"body", "body"},
		{"body|json.user.password", "body|json.user.password"},
		{"body|json.items[3].name", "body|json.items[3].name"},
		{"body|form.q", "body|form.q"},
		{"body|multipart.avatar", "body|multipart.avatar"},
		{"body|multipart.avatar:filename", "body|multipart.avatar:filename"},
		{"body|multipart.doc:content-type", "body|multipart.doc:content-type"},
		{"body|xml.root.user@id", "body|xml.root.user@id"},
		{`body|xml.root@["a b"]`, `body|xml.root@["a b"]`},
		{"query.data|base64|json.a", "query.data|base64|json.a"},
		{"header.authorization|jwt.payload.sub", "header.authorization|jwt.payload.sub"},
		{"body|gzip|json.x", "body|gzip|json.x"},
		{"body|deflate|form.x", "body|deflate|form.x"},
		{"body|graphql.query", "body|graphql.query"},
		{"body|graphql.variables.id", "body|graphql.variables.id"},
		{"body|json.$where", "body|json.$where"},
		{`body|json["a.b"]["c|d"]["\u00e9"]`, `body|json["a.b"]["c|d"]["é"]`},
		{`body|json[""]`, `body|json[""]`},
		{`body|json["\x00\xff"]`, `body|json["\x00\xff"]`},
		{"query.q:name", "query.q:name"},
	}
	for _, tt := range tests {
		p, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := p.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
		q, err := Parse(p.String())
		if err != nil || !q.Equal(p) {
			t.Errorf("round trip of %q: %v, %v", tt.in, q, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"", "id", "Query.id", "query.", "query..a", "query.a b", "query[", "query[x]",
		"query[01]", "query[99999999999]", `query["a`, `query["a"`, `query["\q"]`,
		"body|yaml", "body|", "body:size", "query.*", "*.a", "body@", "query.a*",
		"path]", "query.a.", "body|json.a|",
	} {
		if p, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %q, want an error", in, p)
		}
	}
}

func TestBuilders(t *testing.T) {
	tests := []struct {
		p    Point
		want string
	}{
		{Query("id"), "query.id"},
		{Query(""), "query"},
		{Header("X-Forwarded-For"), "header.x-forwarded-for"},
		{Cookie("a.b"), `cookie["a.b"]`},
		{Path().Index(2), "path[2]"},
		{Body().Layer(LayerJSON).Field("user").Index(0).Field("pw"), "body|json.user[0].pw"},
		{Body().Layer(LayerMultipart).Field("f").Meta(MetaFilename), "body|multipart.f:filename"},
		{Body().Layer(LayerXML).Field("r").Attr("id"), "body|xml.r@id"},
		{New(RootHeader, Step{Kind: Field, Name: "HOST"}), "header.host"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	// Builders never share storage: extending a parent twice gives two
	// independent children.
	parent := Body().Layer(LayerJSON)
	a, b := parent.Field("a"), parent.Field("b")
	if a.String() != "body|json.a" || b.String() != "body|json.b" {
		t.Errorf("children share storage: %s %s", a, b)
	}
	if got := a.Parent(); !got.Equal(parent) {
		t.Errorf("Parent = %s, want %s", got, parent)
	}
}

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pat, pt        string
		match, covered bool
	}{
		{"query.id", "query.id", true, true},
		{"query.id", "query.ids", false, false},
		{"query.id", "query.id|base64|json.a", false, true},
		{"query.*", "query.id", true, true},
		{"query.*", "query", false, false},
		{"query.*", "query.x|json.y", false, true},
		{"query", "query.x", false, true},
		{"body|json.*.password", "body|json.user.password", true, true},
		{"body|json.*.password", "body|json.a.b.password", false, false},
		{"body|json.**.password", "body|json.password", true, true},
		{"body|json.**.password", "body|json.a[0].b.password", true, true},
		{"body|json.**.password", "body|json.a.password.x", false, true},
		{"body|json.**.password", "body|xml.password", false, false},
		{"body.**.password", "body|gzip|json.a.password", true, true},
		{"*.**.token", "cookie.token", true, true},
		{"*.**.token", "header.authorization|jwt.payload.token", true, true},
		{"*.**.token", "header.authorization|jwt.payload.tokens", false, false},
		{"*", "body", true, true},
		{"header.cookie", "header.Cookie", true, true},
		{"body|json.a[*]", "body|json.a[7]", true, true},
		{"body|json.*", "body|json|base64", false, false}, // * is one name, never a layer
		{"body|multipart.f", "body|multipart.f:filename", false, true},
		{"body|xml.r.*", "body|xml.r@id", true, true}, // * stands for an attribute too
		{"path", "path[1]", false, true},
		{"*.**.x.**.y.**", "query.x.a.y", true, true},
	}
	for _, tt := range tests {
		pat := MustParsePattern(tt.pat)
		pt, err := Parse(tt.pt)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.pt, err)
		}
		if got := pat.Match(pt); got != tt.match {
			t.Errorf("%q.Match(%q) = %v, want %v", tt.pat, tt.pt, got, tt.match)
		}
		if got := pat.Covers(pt); got != tt.covered {
			t.Errorf("%q.Covers(%q) = %v, want %v", tt.pat, tt.pt, got, tt.covered)
		}
	}
	if (Pattern{}).Covers(Query("a")) {
		t.Error("zero pattern covers a point")
	}
	if _, err := ParsePattern("**.a.**.b.**.c.**"); err == nil {
		t.Error("pattern with 4 ** parsed")
	}
	if _, err := ParsePattern("query.a**"); err == nil {
		t.Error("partial wildcard parsed")
	}
}

func TestJSON(t *testing.T) {
	type doc struct {
		Point   Point   `json:"point"`
		Pattern Pattern `json:"pattern"`
	}
	in := doc{Point: MustParse(`body|json["a.b"]`), Pattern: MustParsePattern("query.*")}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"point":"body|json[\"a.b\"]","pattern":"query.*"}`; string(b) != want {
		t.Errorf("marshal = %s, want %s", b, want)
	}
	var out doc
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !out.Point.Equal(in.Point) || out.Pattern.String() != "query.*" {
		t.Errorf("unmarshal = %+v", out)
	}
	if err := json.Unmarshal([]byte(`{"point":"nope"}`), &out); err == nil {
		t.Error("bad point unmarshalled")
	}
}

// FuzzParse: any string either fails to parse or parses to a point (or
// pattern) whose canonical form parses back to the same thing.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"query.id", `body|json["a.b"][0].c`, "header.authorization|jwt.payload.sub",
		"body|xml.a@b", `body|xml.a@["x y"]`, "body|multipart.f:filename", "*.**.token",
		"query.*", `cookie["\xff"]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := Parse(s); err == nil {
			q, err := Parse(p.String())
			if err != nil {
				t.Fatalf("Parse(%q) ok but its String %q fails: %v", s, p.String(), err)
			}
			if !q.Equal(p) || q.String() != p.String() {
				t.Fatalf("round trip %q: %q != %q", s, p.String(), q.String())
			}
			if !PatternOf(p).Match(p) || !PatternOf(p).Covers(p) {
				t.Fatalf("%q does not match itself", s)
			}
		}
		if pat, err := ParsePattern(s); err == nil {
			again, err := ParsePattern(pat.String())
			if err != nil || again.String() != pat.String() {
				t.Fatalf("pattern round trip %q: %q, %v", s, pat.String(), err)
			}
			if strings.Contains(s, "*") {
				return
			}
			if _, err := Parse(s); err != nil {
				t.Fatalf("pattern %q without wildcards is not a point: %v", s, err)
			}
		}
	})
}
