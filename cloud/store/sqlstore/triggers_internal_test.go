package sqlstore

import (
	"strings"
	"testing"

	"github.com/palisadewaf/palisade/cloud/store"
)

// TestMigrationDefaultTriggers keeps the default triggers that migration
// 0003 gives existing tenants equal to those a new tenant gets.
func TestMigrationDefaultTriggers(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		raw, err := migrations.ReadFile("migrations/" + d + "/0003_triggers.sql")
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range store.DefaultTriggers() {
			if !strings.Contains(string(raw), "'"+tr.Name+"'") || !strings.Contains(string(raw), "'"+encodeTrigger(&tr)+"'") {
				t.Errorf("%s migration 0003 lacks default trigger %q as %s", d, tr.Name, encodeTrigger(&tr))
			}
		}
	}
}
