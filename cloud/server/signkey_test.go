package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/signkey"
	"github.com/palisadewaf/palisade/cloud/store/sqlstore"
)

// TestServeSignsRulesetsWithPinnedKey runs the whole trust chain of a
// fresh installation: serve creates the signing key in the data directory,
// a node enrolling gets its public key, and the ruleset it then downloads
// verifies against that pinned key alone. A restart keeps the key.
func TestServeSignsRulesetsWithPinnedKey(t *testing.T) {
	dir := t.TempDir()
	url, stop := start(t, Options{DataDir: dir, Out: io.Discard, AdminPassword: "env-given-password"}, "http")
	keyFile := filepath.Join(dir, RulesetKeyFile)
	fi, err := os.Stat(keyFile)
	if err != nil {
		t.Fatalf("serve did not create the signing key: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("signing key mode %v, want 0600", fi.Mode().Perm())
	}
	signer, err := signkey.Load(keyFile)
	if err != nil {
		t.Fatal(err)
	}

	// A node enrolls: an enrollment token made on the database directly,
	// as `palisade-cloud admin create-enroll-token` does.
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(dir, DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := CreateEnrollToken(ctx, st, "default", "web-1", time.Hour)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	var enrolled apiv1.EnrollResponse
	call(t, "POST", url+"/api/v1/nodes/enroll", secret,
		apiv1.EnrollRequest{Version: 1, Name: "web-1", AgentVersion: "0.1.0"}, http.StatusCreated, &enrolled)
	if want := apiv1.FormatPublicKey(signer.PublicKey()); enrolled.RulesetKey != want {
		t.Fatalf("enrollment pins %q, the key on disk is %q", enrolled.RulesetKey, want)
	}
	pinned, err := apiv1.ParsePublicKey(enrolled.RulesetKey)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := apiv1.NewKeyring(pinned)
	if err != nil {
		t.Fatal(err)
	}

	// An admin writes a rule; the node downloads a ruleset signed with the
	// pinned key.
	var login apitypes.LoginResponse
	call(t, "POST", url+"/api/v1/auth/login", "",
		apitypes.LoginRequest{Email: "admin@palisade.local", Password: "env-given-password"}, http.StatusOK, &login)
	call(t, "POST", url+"/api/v1/ip-entries", login.Token,
		apitypes.CreateIPEntryRequest{List: "deny", Prefix: "198.18.66.6"}, http.StatusCreated, nil)
	var sr apiv1.SignedRuleset
	call(t, "GET", url+apiv1.RulesetPath, enrolled.Credential, nil, http.StatusOK, &sr)
	rs, err := kr.Open(&sr)
	if err != nil {
		t.Fatalf("ruleset does not verify against the key pinned at enrollment: %v", err)
	}
	if len(rs.IPList) != 1 || rs.IPList[0].Prefix.String() != "198.18.66.6/32" {
		t.Fatalf("ruleset IP list %+v", rs.IPList)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// A restart signs with the same key: nodes keep trusting the cloud.
	url, stop = start(t, Options{DataDir: dir, Out: io.Discard}, "http")
	defer stop()
	call(t, "GET", url+apiv1.RulesetPath, enrolled.Credential, nil, http.StatusOK, &sr)
	if _, err := kr.Open(&sr); err != nil {
		t.Fatalf("after a restart the ruleset is signed with another key: %v", err)
	}
}

// call sends body as JSON with the bearer secret, checks the status and
// decodes the answer into out (when not nil).
func call(t *testing.T, method, url, secret string, body any, status int, out any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: %d %s, want %d", method, url, resp.StatusCode, raw, status)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, url, raw, err)
		}
	}
}
