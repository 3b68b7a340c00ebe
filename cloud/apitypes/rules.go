package apitypes

import (
	"time"

	"github.com/palisadewaf/palisade/cloud/store"
)

// Rules and IP-list entries as the API shows them.
type (
	Rule    = store.Rule
	IPEntry = store.IPEntry
)

// CreateIPEntryRequest is the body of POST /api/v1/ip-entries. Prefix is an
// address or a CIDR, IPv4 or IPv6.
type CreateIPEntryRequest struct {
	List    string     `json:"list"`
	Prefix  string     `json:"prefix"`
	Expires *time.Time `json:"expires,omitempty"`
	Reason  string     `json:"reason,omitempty"`
	// AppIDs scopes the entry to applications of the tenant; empty: every
	// node of the tenant, at the NIC for deny and allow.
	AppIDs []int64 `json:"app_ids,omitempty"`
}

// ImportResult answers POST /api/v1/ip-entries/import.
type ImportResult struct {
	Imported int `json:"imported"`
}
