package enroll

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/server"
	"github.com/palisadewaf/palisade/cloud/signkey"
	"github.com/palisadewaf/palisade/cloud/store/sqlstore"
)

// startCloud runs the real cloud on SQLite in a temporary data directory.
func startCloud(t *testing.T) (url, dataDir string) {
	t.Helper()
	dataDir = t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Options{
			Listen: "127.0.0.1:0", DataDir: dataDir, Out: io.Discard, AdminPassword: "a-test-admin-password",
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Listening: func(a net.Addr) { addr <- a },
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case a := <-addr:
		return "http://" + a.String(), dataDir
	case err := <-done:
		t.Fatalf("cloud did not start: %v", err)
	}
	return "", ""
}

func enrollToken(t *testing.T, dataDir string) string {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(dataDir, server.DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	secret, _, err := server.CreateEnrollToken(ctx, st, "default", "test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

func TestEnrollPinsTheCloudKey(t *testing.T) {
	url, dataDir := startCloud(t)
	state := filepath.Join(t.TempDir(), "state")
	token := enrollToken(t, dataDir)

	id, err := Enroll(context.Background(), nil, url, token, "web-1", state, false)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := signkey.Load(filepath.Join(dataDir, server.RulesetKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if id.RulesetKey != apiv1.FormatPublicKey(signer.PublicKey()) {
		t.Fatalf("pinned %q, the cloud signs with %q", id.RulesetKey, apiv1.FormatPublicKey(signer.PublicKey()))
	}

	got, cred, err := Load(state)
	if err != nil {
		t.Fatal(err)
	}
	if got.NodeID == "" || got.NodeID != id.NodeID || !strings.HasPrefix(cred, "pcn_") {
		t.Fatalf("loaded %+v with credential %q", got, cred[:min(4, len(cred))])
	}
	fi, err := os.Stat(filepath.Join(state, CredentialFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credential file mode: %v %v", fi.Mode(), err)
	}

	// The token was one-time; and an enrolled node doesn't re-enroll by accident.
	if _, err := Enroll(context.Background(), nil, url, token, "web-1", state, false); err == nil || !strings.Contains(err.Error(), "already enrolled") {
		t.Fatalf("second enroll without --force: %v", err)
	}
	if _, err := Enroll(context.Background(), nil, url, token, "web-1", state, true); err == nil {
		t.Fatal("a spent enrollment token was accepted again")
	}
	if _, err := Enroll(context.Background(), nil, url, "pce_not-a-token", "web-2", t.TempDir(), false); err == nil {
		t.Fatal("an unknown enrollment token was accepted")
	}
}
