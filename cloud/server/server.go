// Package server runs the Palisade cloud: it opens the store (SQLite in a
// data directory, or PostgreSQL), creates the first admin of a fresh
// installation, serves the API over HTTP or HTTPS, housekeeps, and shuts
// down gracefully. It also holds the bootstrap operations of
// `palisade-cloud admin`, which work on the store directly.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/palisadewaf/palisade/cloud/api"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/auth"
	"github.com/palisadewaf/palisade/cloud/notify"
	"github.com/palisadewaf/palisade/cloud/signkey"
	"github.com/palisadewaf/palisade/cloud/store"
	"github.com/palisadewaf/palisade/cloud/store/sqlstore"
)

// Options configure Run.
type Options struct {
	// Listen is the address to serve on, host:port.
	Listen string
	// DataDir holds the SQLite database when Database is empty.
	DataDir string
	// Database is a postgres:// URL; empty selects SQLite in DataDir.
	Database string
	// TLSCert and TLSKey, both set, make the server speak HTTPS only.
	TLSCert, TLSKey string
	// AdminEmail and AdminPassword are the first admin's, created when the
	// installation has no user; an empty password is generated and
	// printed once to Out.
	AdminEmail    string
	AdminPassword string
	Out           io.Writer

	Log            *slog.Logger
	Version        string
	IngestRate     float64
	IngestBurst    int
	TrustedProxies []netip.Prefix
	// ShutdownTimeout bounds the wait for requests in flight (15s).
	ShutdownTimeout time.Duration
	// RulesetKey is the file of the Ed25519 key that signs rulesets,
	// created on first start; empty: RulesetKeyFile in DataDir. Every
	// replica must load the same key: nodes pin its public key.
	RulesetKey string
	// Listening, when set, is called with the bound address.
	Listening func(net.Addr)
}

// DatabaseFile is the SQLite database's name inside the data directory.
const DatabaseFile = "palisade.db"

// RulesetKeyFile is the ruleset signing key's name inside the data
// directory.
const RulesetKeyFile = "ruleset-key.pem"

// loadSigner loads the ruleset signing key named by o, creating it on a
// first start.
func loadSigner(o Options, log *slog.Logger) (*apiv1.Signer, error) {
	path := o.RulesetKey
	if path == "" {
		if o.DataDir == "" {
			return nil, errors.New("need --data-dir or --ruleset-key for the ruleset signing key")
		}
		path = filepath.Join(o.DataDir, RulesetKeyFile)
	}
	signer, created, err := signkey.LoadOrCreate(path)
	if err != nil {
		return nil, fmt.Errorf("ruleset signing key %s: %w", path, err)
	}
	// The public key is no secret: operators compare it with what nodes pin.
	log.Info("ruleset signing key", "path", path, "created", created, "key_id", signer.KeyID(),
		"public_key", apiv1.FormatPublicKey(signer.PublicKey()))
	return signer, nil
}

// OpenStore opens the store named by database, or the SQLite database in
// dataDir when database is empty, and migrates it.
func OpenStore(ctx context.Context, database, dataDir string) (*sqlstore.Store, error) {
	if database == "" {
		if dataDir == "" {
			return nil, errors.New("need --data-dir or --database")
		}
		database = filepath.Join(dataDir, DatabaseFile)
	}
	return sqlstore.Open(ctx, database)
}

// Run serves until ctx ends, then shuts down gracefully.
func Run(ctx context.Context, o Options) error {
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	st, err := OpenStore(ctx, o.Database, o.DataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	log.Info("store open", "database", st.Dialect())

	if err := Bootstrap(ctx, st, o.AdminEmail, o.AdminPassword, o.Out); err != nil {
		return err
	}
	signer, err := loadSigner(o, log)
	if err != nil {
		return err
	}
	dispatcher := notify.New(st, notify.Options{Log: log})
	defer dispatcher.Close()
	handler, err := api.New(api.Config{
		Store: st, Log: log, Version: o.Version,
		IngestRate: o.IngestRate, IngestBurst: o.IngestBurst, TrustedProxies: o.TrustedProxies,
		RulesetSigner: signer, Dispatcher: dispatcher,
	})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.Listen, err)
	}
	scheme := "http"
	if o.TLSCert != "" {
		scheme = "https"
	}
	log.Info("serving", "addr", ln.Addr().String(), "scheme", scheme, "version", o.Version)
	if o.Listening != nil {
		o.Listening(ln.Addr())
	}

	serveErr := make(chan error, 1)
	go func() {
		if o.TLSCert != "" {
			serveErr <- srv.ServeTLS(ln, o.TLSCert, o.TLSKey)
		} else {
			serveErr <- srv.Serve(ln)
		}
	}()
	go housekeep(ctx, st, log)

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	timeout := o.ShutdownTimeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	log.Info("shutting down", "timeout", timeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// triggerDataKept is how long firings and deliveries stay in their logs.
const triggerDataKept = 30 * 24 * time.Hour

// housekeep removes expired sessions and old trigger data every hour.
func housekeep(ctx context.Context, st *sqlstore.Store, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := st.DeleteExpiredSessions(ctx, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("delete expired sessions", "err", err)
		case n > 0:
			log.Info("deleted expired sessions", "count", n)
		}
		n, err = st.PruneTriggerData(ctx, time.Now(), triggerDataKept, store.DeltaVersionsKept)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("prune trigger data", "err", err)
		case n > 0:
			log.Info("pruned trigger firings, deliveries and the IP-entry log", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// checkAdminPassword judges an admin password given in the environment:
// the same rules as for any password.
func checkAdminPassword(pw string) error {
	if err := auth.CheckPassword(pw); err != nil {
		return fmt.Errorf("admin password: %w", err)
	}
	return nil
}
