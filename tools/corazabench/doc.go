// Package corazabench compares Palisade's detection engine with Coraza v3
// running the OWASP CRS v4 at paranoia level 1, on the same requests
// (agent/detect/benchdata), in the same benchmark run. It is a nested
// module so that Palisade itself never depends on Coraza. Run:
//
//	cd tools/corazabench && go test -run '^$' -bench . -benchmem
package corazabench
