// Package apiv1 is the versioned wire contract between a Palisade node
// (palisade-agent) and the Palisade cloud (palisade-cloud).
//
// Both sides import this package and nothing else of each other, so that the
// node and the cloud can be built, tested and released apart. Every document
// that crosses the wire carries "version": 1; a change that breaks a reader
// gets a new package (apiv2), never a silent change here.
//
// What lives here:
//   - events.go: attack events and per-minute counters a node reports
//     (POST /api/v1/ingest), see docs/WIRE.md;
//   - the ruleset document nodes download (added with the rules work);
//   - golden files for each document under testdata/.
package apiv1

// Version is the value of the "version" field of every document in this
// package.
const Version = 1
