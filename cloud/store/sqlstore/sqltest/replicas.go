package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/cloud/store/sqlstore"
)

// Replicas opens n stores on one fresh database of the given dialect, as
// n cloud replicas (or processes) would: each with its own connections,
// all on one schema. They are closed when the test ends.
func Replicas(tb testing.TB, dialect string, n int) []*sqlstore.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn := filepath.Join(tb.TempDir(), "palisade.db")
	if dialect == "postgres" {
		base := PostgresURL(tb)
		admin, err := sql.Open("pgx", base)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { admin.Close() })
		var rnd [6]byte
		rand.Read(rnd[:])
		schema := "palisade_test_" + hex.EncodeToString(rnd[:])
		if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
			tb.Fatalf("create schema: %v", err)
		}
		tb.Cleanup(func() { admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
		u, err := url.Parse(base)
		if err != nil {
			tb.Fatalf("%s: %v", EnvPostgres, err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		dsn = u.String()
	}
	out := make([]*sqlstore.Store, 0, n)
	for range n {
		s, err := sqlstore.Open(ctx, dsn)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { s.Close() })
		out = append(out, s)
	}
	return out
}
