#!/usr/bin/env bash
# Runs every Fuzz target in the module for the given time each (default 2m).
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-2m}
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for fz in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/func //' | sort -u); do
    echo "== $pkg $fz ($t)"
    go test -run '^$' -fuzz "^$fz\$" -fuzztime "$t" "$pkg"
  done
done
