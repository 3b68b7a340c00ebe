package mask

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

type creds struct {
	User     string
	Password string
}

func TestHandlerMasksRecords(t *testing.T) {
	var buf bytes.Buffer
	m := newMasker(t, Config{})
	log := slog.New(NewHandler(slog.NewJSONHandler(&buf, nil), m, "node-credential-XYZ123"))
	log = log.With("token", "with-attr-tok-1")
	log.WithGroup("auth").Info("login failed for bob@example.com",
		"password", "pw-group-1",
		slog.Group("inner", "user", "bob", "detail", "pin=9876"),
		"err", errors.New("upload: 401 for credential node-credential-XYZ123"),
		"creds", creds{User: "bob", Password: "pw-struct-1"},
		"raw", []byte("GET /?api_key=bytes-key-1 HTTP/1.1"),
		"card", "4111111111111111",
		"count", 3,
		"took", 2*time.Second,
	)
	out := buf.String()
	for _, secret := range []string{
		"with-attr-tok-1", "bob@example.com", "pw-group-1", "9876", "node-credential-XYZ123",
		"pw-struct-1", "bytes-key-1", "4111111111111111",
	} {
		if strings.Contains(out, secret) {
			t.Errorf("log line shows %q:\n%s", secret, out)
		}
	}
	for _, keep := range []string{`"count":3`, `"took":2000000000`, `"user":"bob"`, "login failed for"} {
		if !strings.Contains(out, keep) {
			t.Errorf("log line lost %s:\n%s", keep, out)
		}
	}
}

func TestHandlerHidesSensitiveGroups(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewHandler(slog.NewTextHandler(&buf, nil), newMasker(t, Config{})))
	log.WithGroup("secrets").Info("x", "a", "plain-but-hidden")
	if strings.Contains(buf.String(), "plain-but-hidden") {
		t.Fatalf("value under a sensitive group shown: %s", buf.String())
	}
}
