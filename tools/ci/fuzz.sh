#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a short time ($1, default 10s).
#
# A duration -fuzztime can end in a bare "context deadline exceeded" with no
# failing input: a race in Go's fuzz coordinator (go.dev/issue/75804, fixed
# in Go 1.27). A real failure always writes its input under
# testdata/fuzz/<target>/, so that is what fails the run here; the race is
# reported and the target run once more.
set -uo pipefail
t=${1:-10s}
failed=0
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for name in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
    for attempt in 1 2; do
      echo "fuzz: $pkg $name ($t)"
      before=$(ls "$dir/testdata/fuzz/$name" 2>/dev/null | sort)
      out=$(go test -run '^$' -fuzz "^${name}\$" -fuzztime "$t" -fuzzminimizetime 5s "$pkg" 2>&1)
      rc=$?
      echo "$out" | tail -5
      [ $rc -eq 0 ] && break
      after=$(ls "$dir/testdata/fuzz/$name" 2>/dev/null | sort)
      if [ "$before" != "$after" ] || ! grep -q 'context deadline exceeded' <<<"$out"; then
        echo "fuzz: $pkg $name FAILED (failing input written under $dir/testdata/fuzz/$name)"
        failed=1
        break
      fi
      echo "fuzz: $pkg $name hit Go's fuzztime deadline race (no failing input written); running it again"
      [ $attempt -eq 2 ] && { echo "fuzz: $pkg $name: the race twice in a row; counting it as a failure"; failed=1; }
    done
  done
done
exit $failed
