#!/usr/bin/env bash
# SMTP throughput and latency of our server against the anchors (Postfix ~357 msgs/s and
# Courier ~128 msgs/s delivered at 20 connections, 4 KB; see ../shared/anchors/smtp/RESULTS.md).
#
#   bench/smtp/run.sh [N20] [N1]     (defaults: 5000 messages at 20 connections, 1000 at 1)
#
# It builds bin/courier and the anchors' load generator, starts a fresh quickstart in a
# temporary directory (port base 33000), and runs smtpload at 1 and 20 connections with ~4 KB
# messages to demo@example.test, waiting until every accepted message is in the Maildir;
# mdcheck then verifies each accepted Message-ID is there exactly once.
set -euo pipefail
n20=${1:-5000}
n1=${2:-1000}
here=$(cd "$(dirname "$0")/../.." && pwd)
export PATH=$PATH:/usr/local/go/bin
bin=/var/tmp/smtpbin
mkdir -p "$bin"
(cd "$here/../shared/anchors/smtp/loadgen" && go build -o "$bin/" ./cmd/...)
(cd "$here" && go build -o bin/courier ./cmd/courier)
work=$(mktemp -d /var/tmp/smtp-bench.XXXXXX)
base=${PORT_BASE:-33000}
"$here/bin/courier" quickstart --dir "$work/qs" --port-base "$base" --password bench-Pass-1 >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q "listening smtp" "$work/server.log" && break; sleep 0.1; done
md="$work/qs/mail/example.test/demo/Maildir"
addr=127.0.0.1:$((base + 25))

run() { # conns msgs label
  local c=$1 n=$2 label=$3 per=$(( $2 / $1 ))
  rm -f "$md"/new/* "$md"/cur/*
  "$bin/smtpload" -addr "$addr" -c "$c" -n "$per" -size 4096 -rcpt demo@example.test \
    -ids "$work/$label.ids" -wait-maildirs "$md" -wait-max 600s -max-time 900s -json "$work/$label.json" >/dev/null
  "$bin/mdcheck" -maildirs "$md" -ids "$work/$label.ids" >"$work/$label.check" || { cat "$work/$label.check"; exit 1; }
  python3 - "$work/$label.json" "$label" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{sys.argv[2]:>8}: accepted {r['accepted']}/{r['attempted']}  accepted/s {r['accepted_msgs_per_s']:.0f}  "
      f"delivered/s {r.get('e2e_delivered_msgs_per_s', 0):.0f}  p50 {r['latency_ms']['p50']:.1f} ms  "
      f"p99 {r['latency_ms']['p99']:.1f} ms  4xx {r['final_4xx']} 5xx {r['final_5xx']} neterr {r['net_errors']}")
PY
}
run 1 "$n1" c1-4k
run 20 "$n20" c20-4k
