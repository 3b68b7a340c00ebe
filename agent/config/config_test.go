package config

import (
	"strings"
	"testing"
)

func TestParseDefaults(t *testing.T) {
	cfg, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.XDP.Mode != "auto" || cfg.Admin.Socket != "/run/palisade/agent.sock" || cfg.Metrics.Listen != "127.0.0.1:9464" {
		t.Fatalf("defaults: %+v", cfg)
	}
}

func TestParseDocumentedExample(t *testing.T) {
	cfg, err := Parse([]byte(`
xdp:
  interfaces: [eth0]        # one or more
  mode: auto                # auto | native | generic
admin:
  socket: /run/palisade/agent.sock
metrics:
  listen: 127.0.0.1:9464
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.XDP.Interfaces) != 1 || cfg.XDP.Interfaces[0] != "eth0" {
		t.Fatalf("interfaces: %v", cfg.XDP.Interfaces)
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	cases := map[string]string{
		"xdp: {mode: turbo}":                         "xdp.mode",
		"xdp: {interfaces: [eth0, eth0]}":            "listed twice",
		"xdp: {interfaces: [averyveryverylongname]}": "longer than 15",
		"xdp: {rate_limit: {pps: 100}}":              "burst",
		"admin: {socket: relative.sock}":             "admin.socket",
		"metrics: {listen: nonsense}":                "metrics.listen",
		"xdp: {intefaces: [eth0]}":                   "intefaces", // typo: unknown field
		"log: {level: loud}":                         "log.level",
	}
	for doc, want := range cases {
		_, err := Parse([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: want error mentioning %q, got %v", doc, want, err)
		}
	}
}
