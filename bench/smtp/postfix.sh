#!/usr/bin/env bash
# The same loads as run.sh against Postfix (Debian 12's 3.7), the anchor the issue measures
# us against, set up by the anchors' own scripts (../shared/anchors/smtp/postfix/): smtpd on
# 127.0.0.1:10025 only, local(8) delivery to ~/Maildir of u1 and u2 (messages round-robin
# over both), fsync as Postfix ships it (on). Run as root, on a machine without another MTA:
#
#   bench/smtp/postfix.sh [N20] [N1] [SIZES]      (the same arguments and env as run.sh)
#
# It installs postfix if missing (the Debian "Local only" preseed; the package's own start
# is left to policy-rc.d), creates u1..u4 (scripts/mkusers.sh), configures it with a copy
# of setup-postfix.sh (so the anchors' etc/ is not rewritten), starts it, runs the loads and
# stops it again (postfix stop, then checks nothing listens on 10025).
set -euo pipefail
n20=${1:-5000}
n1=${2:-1000}
sizes=${3:-4096}
runs=${RUNS:-1}
here=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "postfix.sh: run as root" >&2; exit 1; }
. "$here/bench/smtp/lib.sh"
bench_build
bench_setup_postfix
work=$(mktemp -d /var/tmp/postfix-bench.XXXXXX)
out=${OUT:-$work}
mkdir -p "$out"
postfix start
trap 'postfix stop >/dev/null 2>&1 || true; sleep 1; rm -rf "$work"
      ss -ltn | grep -qE ":(25|10025) " && echo "postfix.sh: something still listens on 25/10025" >&2' EXIT
for _ in $(seq 50); do ss -ltn | grep -q "127.0.0.1:10025 " && break; sleep 0.2; done
mds=/home/u1/Maildir,/home/u2/Maildir
bench_clean() {
  for _ in $(seq 240); do postqueue -p | grep -q "Mail queue is empty" && break; sleep 0.5; done
  "$anchors/scripts/clean-maildirs.sh"
}

for size in $sizes; do
  for _ in $(seq "$runs"); do
    bench_load postfix 127.0.0.1:10025 1 "$n1" "$size" u1@example.test,u2@example.test "$mds"
    bench_load postfix 127.0.0.1:10025 20 "$n20" "$size" u1@example.test,u2@example.test "$mds"
  done
done
