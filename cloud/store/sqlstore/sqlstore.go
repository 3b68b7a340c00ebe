// Package sqlstore implements store.Store on SQLite (modernc.org/sqlite,
// no cgo) and on PostgreSQL (jackc/pgx through database/sql).
//
// Both dialects share the query text of this package: queries are written
// with "?" placeholders and rebound to "$n" for PostgreSQL, times are Unix
// nanoseconds and booleans 0/1 in both schemas, and the few statements that
// differ are chosen by dialect. The schemas are numbered migrations
// embedded from migrations/<dialect>/NNNN_name.sql and applied by Open.
//
// SQLite allows one writer at a time, so a SQLite store keeps two pools: a
// single connection for every write (transactions queue in Go, not in
// SQLite's busy handler) and several read-only connections, which WAL lets
// run beside the writer.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/palisadewaf/palisade/cloud/store"
)

type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

func (d dialect) String() string {
	if d == dialectPostgres {
		return "postgres"
	}
	return "sqlite"
}

// Store is a store.Store over a SQL database.
type Store struct {
	d dialect
	w *sql.DB // writes (and, for PostgreSQL, reads too)
	r *sql.DB // reads
	// now is the clock for audit entries; tests leave it alone.
	now func() time.Time

	rebound sync.Map // query text with "?" -> PostgreSQL text with "$n"

	// SQLite only: the queue of the group-committing ingest writer.
	ingestQ    chan *ingestReq
	closing    chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once
}

var _ store.Store = (*Store)(nil)

// Open opens the database named by dsn and applies pending migrations: a
// postgres:// or postgresql:// URL selects PostgreSQL, anything else is the
// path of a SQLite database file (created when missing).
func Open(ctx context.Context, dsn string) (*Store, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return OpenPostgres(ctx, dsn)
	}
	return OpenSQLite(ctx, dsn)
}

// Page caches of the SQLite connections: the writer's holds the index
// pages that ingest keeps touching (64 MiB; 256 MiB measured no faster),
// each reader's the pages of one query.
const (
	writerCache = "cache_size(-65536)"
	readerCache = "cache_size(-16384)"
)

// OpenSQLite opens (creating if needed) the SQLite database at path.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create database directory: %w", err)
	}
	// WAL lets readers run beside the writer; synchronous=NORMAL in WAL
	// mode loses no committed data on a crash of the process (only on a
	// power loss, the last transactions); busy_timeout covers the admin CLI
	// writing while a server runs. Statement journals stay in memory, and
	// the WAL is checkpointed every 10000 pages rather than 1000, because
	// each checkpoint costs an fsync in the committing writer's path: this
	// alone nearly triples the rate of small ingest transactions.
	pragmas := []string{"journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(1)", "busy_timeout(10000)",
		"temp_store(MEMORY)", "wal_autocheckpoint(10000)", "journal_size_limit(67108864)"}
	dsn := func(extra ...string) string {
		q := url.Values{}
		for _, p := range append(pragmas, extra...) {
			q.Add("_pragma", p)
		}
		if len(extra) > 0 && extra[0] == writerCache {
			q.Set("_txlock", "immediate")
		}
		return "file:" + path + "?" + q.Encode()
	}
	w, err := sql.Open("sqlite", dsn(writerCache))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", dsn(readerCache, "query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s := &Store{d: dialectSQLite, w: w, r: r, now: time.Now}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.startGroupCommit()
	return s, nil
}

// OpenPostgres connects to the PostgreSQL database at url.
func OpenPostgres(ctx context.Context, url string) (*Store, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(max(8, 4*runtime.GOMAXPROCS(0)))
	db.SetMaxIdleConns(max(8, 4*runtime.GOMAXPROCS(0)))
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	s := &Store{d: dialectPostgres, w: db, r: db, now: time.Now}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Dialect names the database behind s: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.String() }

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.d, err)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	s.stopGroupCommit()
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// q returns query in the placeholder syntax of s's dialect.
func (s *Store) q(query string) string {
	if s.d != dialectPostgres {
		return query
	}
	if v, ok := s.rebound.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	out := b.String()
	// Ingest builds statements of many sizes; keep only the usual ones.
	if len(query) < 4096 {
		s.rebound.Store(query, out)
	}
	return out
}

// inTx runs fn in a write transaction, committing when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", mapErr(err))
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	return nil
}

// audit appends one entry to the audit log inside tx.
func (s *Store) audit(ctx context.Context, tx *sql.Tx, tenantID int64, by store.Actor, action, kind, id string, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	d, err := json.Marshal(details)
	if err != nil {
		return fmt.Errorf("audit %s: encode details: %w", action, err)
	}
	_, err = tx.ExecContext(ctx, s.q(`INSERT INTO audit_log
		(tenant_id, time, actor_kind, actor_id, actor_name, client_ip, action, object_kind, object_id, details)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		tenantID, ts(s.now()), string(by.Kind), by.ID, by.Name, by.IP, action, kind, id, string(d))
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, mapErr(err))
	}
	return nil
}

// mapErr turns driver errors that callers act on into store errors.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", store.ErrConflict, err)
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" { // unique_violation
		return fmt.Errorf("%w: %v", store.ErrConflict, err)
	}
	return err
}

// Times are stored as Unix nanoseconds in both dialects.

func ts(t time.Time) int64 { return t.UnixNano() }

func tsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixNano()
}

func fromTS(n int64) time.Time { return time.Unix(0, n).UTC() }

func fromNullTS(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromTS(n.Int64)
	return &t
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkAffected turns "no row changed" into store.ErrNotFound.
func checkAffected(res sql.Result, err error) error {
	if err != nil {
		return mapErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}
