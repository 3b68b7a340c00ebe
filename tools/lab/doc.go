// Package lab builds network-namespace labs for Palisade's end-to-end
// tests, benchmarks and demo: namespaces joined by veth pairs, addressed from
// 198.18.0.0/15 and fd00::/8, and helpers to run code inside them.
package lab
