// Package sqltest opens fresh sqlstore databases for tests and benchmarks:
// a SQLite file in a temporary directory, or a PostgreSQL schema of its own
// in the database named by $PALISADE_TEST_POSTGRES (which
// tools/ci/env.d/postgres.sh exports).
//
// Without PostgreSQL the PostgreSQL tests skip on a developer's machine and
// fail in CI (CI=true): a store suite that silently ran on one database
// would prove nothing about the other.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/cloud/store/sqlstore"
	"github.com/palisadewaf/palisade/tools/lab"
)

// EnvPostgres names the variable with the URL of the test database.
const EnvPostgres = "PALISADE_TEST_POSTGRES"

// Dialects lists the databases Open accepts.
var Dialects = []string{"sqlite", "postgres"}

// Open opens a fresh store of the given dialect, closed and removed when
// the test ends.
func Open(tb testing.TB, dialect string) *sqlstore.Store {
	tb.Helper()
	if dialect == "postgres" {
		return OpenPostgres(tb)
	}
	return OpenSQLite(tb)
}

// OpenSQLite opens a fresh SQLite store in a temporary directory.
func OpenSQLite(tb testing.TB) *sqlstore.Store {
	tb.Helper()
	s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(tb.TempDir(), "palisade.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// PostgresURL returns the URL of the test database, or stops the test: a
// skip on a developer's machine, a failure in CI.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(EnvPostgres)
	lab.Require(tb, EnvPostgres+" (source tools/ci/env.d/postgres.sh)", u != "")
	return u
}

// OpenPostgres opens a fresh store in a new schema of the test database;
// the schema is dropped when the test ends.
func OpenPostgres(tb testing.TB) *sqlstore.Store {
	tb.Helper()
	base := PostgresURL(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { admin.Close() })
	if err := admin.PingContext(ctx); err != nil {
		tb.Fatalf("PostgreSQL at %s does not answer: %v", EnvPostgres, err)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	schema := "palisade_test_" + hex.EncodeToString(rnd[:])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("%s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	s, err := sqlstore.OpenPostgres(ctx, u.String())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
