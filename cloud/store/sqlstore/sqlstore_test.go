package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/palisadewaf/palisade/cloud/store"
	"github.com/palisadewaf/palisade/cloud/store/sqlstore"
	"github.com/palisadewaf/palisade/cloud/store/sqlstore/sqltest"
	"github.com/palisadewaf/palisade/cloud/store/storetest"
)

func TestStoreSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return sqltest.OpenSQLite(t) })
}

func TestStorePostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return sqltest.OpenPostgres(t) })
}

// TestReopen opens a database twice: the second Open finds the schema
// current and applies nothing, and the data is still there.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "palisade.db")
	s, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTenant(ctx, store.Actor{Kind: store.ActorSystem}, "acme"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if _, err := s.GetTenantByName(ctx, "acme"); err != nil {
		t.Fatalf("after reopen: %v", err)
	}
}

func TestReopenPostgres(t *testing.T) {
	s := sqltest.OpenPostgres(t)
	// A second replica starting on the same schema migrates nothing.
	ctx := context.Background()
	if _, err := s.CreateTenant(ctx, store.Actor{Kind: store.ActorSystem}, "acme"); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}
