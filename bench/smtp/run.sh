#!/usr/bin/env bash
# SMTP throughput and latency of our server against the anchors (Postfix ~357 msgs/s and
# Courier ~128 msgs/s delivered at 20 connections, 4 KB; see ../shared/anchors/smtp/RESULTS.md).
#
#   bench/smtp/run.sh [N20] [N1] [SIZES]
#     N20    messages at 20 connections (default 5000)
#     N1     messages on 1 connection (default 1000)
#     SIZES  message sizes in bytes, space-separated (default "4096"; the README's table
#            uses "4096 102400")
#   env: RUNS (default 1) repeats each cell; OUT keeps the raw JSON (default: a temp dir,
#        removed at the end); PORT_BASE (default 33000).
#
# It builds bin/courier and the anchors' load generator, starts a fresh quickstart in a
# temporary directory, and runs smtpload at 1 and 20 connections to demo@example.test on
# port base+25, pipelining, waiting until every accepted message is in the Maildir; mdcheck
# then verifies each accepted Message-ID is there exactly once. Every line carries the
# 1-minute load average before and after the run. bench/smtp/postfix.sh runs the same loads
# against Postfix.
set -euo pipefail
n20=${1:-5000}
n1=${2:-1000}
sizes=${3:-4096}
runs=${RUNS:-1}
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/bench/smtp/lib.sh"
bench_build
(cd "$here" && go build -o bin/courier ./cmd/courier)
work=$(mktemp -d /var/tmp/smtp-bench.XXXXXX)
out=${OUT:-$work}
mkdir -p "$out"
base=${PORT_BASE:-33000}
"$here/bin/courier" quickstart --dir "$work/qs" --port-base "$base" --password bench-Pass-1 >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q "listening smtp" "$work/server.log" && break; sleep 0.1; done
md="$work/qs/mail/example.test/demo/Maildir"
addr=127.0.0.1:$((base + 25))
bench_clean() { find "$md/new" "$md/cur" -type f -delete; }

for size in $sizes; do
  for _ in $(seq "$runs"); do
    bench_load courier "$addr" 1 "$n1" "$size" demo@example.test "$md"
    bench_load courier "$addr" 20 "$n20" "$size" demo@example.test "$md"
  done
done
