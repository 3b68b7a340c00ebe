package api

import (
	_ "embed"
	"encoding"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/auth"
)

// openAPIDoc is the committed OpenAPI document of this API, served as is.
// TestOpenAPIInSync fails when it differs from what the route table and
// the Go types generate; `go test ./cloud/api -run OpenAPI -update`
// rewrites it.
//
//go:embed openapi.json
var openAPIDoc []byte

func (s *Server) openAPI(r *http.Request, p *principal) (any, error) {
	return json.RawMessage(openAPIDoc), nil
}

// OpenAPI returns the OpenAPI 3.1 document generated from the route table.
func (s *Server) OpenAPI() ([]byte, error) {
	g := &schemas{defs: map[string]any{}}
	paths := map[string]map[string]any{}
	for _, rt := range s.routes {
		op := map[string]any{
			"summary":     rt.summary,
			"operationId": operationID(rt),
			"tags":        []string{tag(rt.path)},
		}
		var desc string
		switch rt.access {
		case public:
			op["security"] = []any{}
			desc = "No credentials."
		case userAccess:
			op["security"] = []any{map[string]any{"bearer": []string{}}}
			desc = "A user session or API token"
			if rt.scope != "" {
				desc += " with scope `" + string(rt.scope) + "` (roles: " + rolesWith(rt.scope) + ")"
			}
			desc += "."
		case nodeAccess:
			op["security"] = []any{map[string]any{"bearer": []string{}}}
			desc = "A node credential (pcn_...)."
		case enrollAccess:
			op["security"] = []any{map[string]any{"bearer": []string{}}}
			desc = "A one-time enrollment token (pce_...)."
		}
		op["description"] = desc
		var params []any
		for _, name := range pathParams.FindAllStringSubmatch(rt.path, -1) {
			params = append(params, map[string]any{"name": name[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range rt.query {
			params = append(params, map[string]any{"name": q.name, "in": "query", "description": q.doc, "schema": map[string]any{"type": q.typ}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.body != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(rt.body))}}}
		}
		responses := map[string]any{}
		ok := map[string]any{"description": http.StatusText(rt.status)}
		if rt.resp != nil {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(rt.resp))}}
		}
		responses[fmt.Sprint(rt.status)] = ok
		errRef := g.schema(reflect.TypeOf(apiv1.Error{}))
		addErr := func(code int) {
			responses[fmt.Sprint(code)] = map[string]any{"description": http.StatusText(code),
				"content": map[string]any{"application/json": map[string]any{"schema": errRef}}}
		}
		if rt.body != nil || rt.query != nil || strings.Contains(rt.path, "{") {
			addErr(http.StatusBadRequest)
		}
		if rt.access != public || rt.path == "/api/v1/auth/login" {
			addErr(http.StatusUnauthorized)
		}
		if rt.access == userAccess {
			addErr(http.StatusForbidden)
		}
		if strings.Contains(rt.path, "{") {
			addErr(http.StatusNotFound)
		}
		if rt.path == "/api/v1/ingest" {
			addErr(http.StatusRequestEntityTooLarge)
		}
		if rt.path == "/api/v1/ingest" || rt.path == "/api/v1/auth/login" {
			addErr(http.StatusTooManyRequests)
		}
		op["responses"] = responses
		if paths[rt.path] == nil {
			paths[rt.path] = map[string]any{}
		}
		paths[rt.path][strings.ToLower(rt.method)] = op
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "Palisade cloud API",
			"version":     "v1",
			"description": "The API of palisade-cloud for people, scripts and nodes. See docs/API.md.",
		},
		"paths": paths,
		"components": map[string]any{
			"schemas":         g.defs,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
		},
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode OpenAPI document: %w", err)
	}
	return append(out, '\n'), nil
}

var pathParams = regexp.MustCompile(`\{([a-z_]+)\}`)

func operationID(rt route) string {
	parts := []string{strings.ToLower(rt.method)}
	for _, seg := range strings.Split(strings.TrimPrefix(rt.path, "/api/v1/"), "/") {
		seg = strings.NewReplacer("{", "by_", "}", "", "-", "_", ".", "_").Replace(seg)
		parts = append(parts, seg)
	}
	return strings.Join(parts, "_")
}

func tag(path string) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(path, "/api/v1/"), "/")
	return strings.TrimSuffix(seg, ".json")
}

func rolesWith(s auth.Scope) string {
	var out []string
	for _, r := range auth.Roles {
		if g, _ := auth.Grant(r, []auth.Scope{s}); len(g) == 1 {
			out = append(out, string(r))
		}
	}
	return strings.Join(out, ", ")
}

// schemas turns Go types into JSON Schemas the way encoding/json encodes
// them, naming each struct once under components/schemas.
type schemas struct {
	defs map[string]any
}

var (
	timeType      = reflect.TypeOf(time.Time{})
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

func (g *schemas) schema(t reflect.Type) map[string]any {
	if t == timeType {
		return map[string]any{"type": "string", "format": "date-time"}
	}
	// Addresses, prefixes and points encode as their text form.
	if t.Kind() == reflect.Struct && t.Implements(textMarshaler) {
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.schema(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer", "format": "int64"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := schemaName(t)
		if _, done := g.defs[name]; !done {
			g.defs[name] = nil // a placeholder breaks cycles
			props, required := map[string]any{}, []string{}
			g.fields(t, props, &required)
			def := map[string]any{"type": "object", "properties": props}
			if len(required) > 0 {
				def["required"] = required
			}
			g.defs[name] = def
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	panic(fmt.Sprintf("openapi: no schema for %s", t))
}

// fields adds t's JSON fields, promoting those of embedded structs.
func (g *schemas) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tagv := f.Tag.Get("json")
		if tagv == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tagv, ",")
		if f.Anonymous && name == "" {
			g.fields(f.Type, props, required)
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.schema(f.Type)
		if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
			*required = append(*required, name)
		}
	}
}

// schemaName names a struct type; an instance of a generic type is named
// after its argument: List[...store.User] is UserList.
func schemaName(t reflect.Type) string {
	name := t.Name()
	base, arg, ok := strings.Cut(name, "[")
	if !ok {
		return name
	}
	arg = strings.TrimSuffix(arg, "]")
	if i := strings.LastIndex(arg, "."); i >= 0 {
		arg = arg[i+1:]
	}
	return arg + base
}
