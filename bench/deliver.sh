#!/usr/bin/env bash
# Deliveries per second: Courier's real deliverquota versus ours, each run N times as a fresh
# process into one maildir (with a quota, so maildirsize is read and appended every time).
#   bench/deliver.sh [N] [OURS]      (defaults: 500, bin/courier; build it first)
#   DIR=/ KEEP=1 bench/deliver.sh    work directory at the top of the filesystem, kept (see
#                                    bench/maildrop: recent deletions slow creates on ext4
#                                    without a journal)
#   P=8 bench/deliver.sh ...         P deliveries at once (as courierd runs local deliveries
#                                    in parallel, up to MAXDELS), each a fresh process
# The row "lean" is bin/courier-mda, the small per-message binary beside OURS, when built.
# Note: Courier's deliverquota does not fsync; ours fsyncs the message and new/ before it
# reports success, so the rates compare a durable delivery with a non-durable one.
set -euo pipefail
n=${1:-500}
par=${P:-1}
ours=${2:-bin/courier}
here=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$ours" ] || { echo "build first: go build -o bin/courier ./cmd/courier" >&2; exit 1; }
ours=$(cd "$(dirname "$ours")" && pwd)/$(basename "$ours")
eval "$("$here/../shared/tools/courier-ref")"
work=$(mktemp -d "${DIR:-/var/tmp}/deliver-bench.XXXXXX")
chmod 755 "$work"
if [ -n "${KEEP:-}" ]; then echo "keeping $work" >&2; else trap 'rm -rf "$work"' EXIT; fi
msg="$work/msg"
{ printf 'From: a@example.com\nTo: b@example.com\nSubject: bench\n\n'; for i in $(seq 100); do echo "body line $i of a message"; done; } > "$msg"

rate() { # name, command...
  local name=$1; shift
  local md="$work/$name"
  "$@" >/dev/null 2>&1 || true
  local start end
  start=$(date +%s.%N)
  for ((w = 0; w < par; w++)); do
    ( for ((i = w; i < n; i += par)); do "${DQ[@]}" "$md" < "$msg"; done ) &
  done
  wait
  end=$(date +%s.%N)
  awk -v n="$n" -v s="$start" -v e="$end" -v name="$name" \
    -v p="$par" 'BEGIN { printf "%-8s %6d deliveries (%d at once) in %7.3f s = %8.1f deliveries/s\n", name, n, p, e - s, n / (e - s) }'
  echo "         $(ls "$md/new" | wc -l) files in new/, maildirsize: $(head -1 "$md/maildirsize")"
}

DQ=("$REF_DELIVERQUOTA")
rate courier "$REF_MAILDIRMAKE" -q 1000000000S "$work/courier"
DQ=("$ours" deliverquota)
rate ours "$ours" maildirmake -q 1000000000S "$work/ours"
lean=$(dirname "$ours")/courier-mda
if [ -x "$lean" ]; then
  DQ=("$lean" deliverquota)
  rate lean "$ours" maildirmake -q 1000000000S "$work/lean"
fi
