#!/usr/bin/env bash
# Relay throughput (issue 8): messages per second from a relaying MTA to a sink, 20
# connections, 4 KB, beside Postfix relaying to the same sink. Run as root on a machine
# without another MTA on 10025 (Postfix's port here):
#
#   bench/smtp/relay.sh [N] [SIZE]      (defaults 5000 messages, 4096 bytes)
#   env: RUNS (default 1) repeats each relay; SERVERS (default "courier postfix");
#        OUT keeps the raw JSON (default: a temp dir, removed at the end); PORT_BASE (33000).
#
# The sink is our quickstart for example.net (SMTP on base+1025, Maildir delivery with
# fsync). The relays accept mail for demo@example.net from loopback without AUTH and relay
# it to the sink:
#   courier  our quickstart for example.test (SMTP on base+25) with "example.net:
#            127.0.0.1,SINKPORT" in esmtproutes and 127.0.0.1 a RELAYCLIENT in smtpaccess
#            (Courier's way to let a network relay; Postfix's is mynetworks).
#   postfix  Debian's Postfix 3.7 set up by the anchors' setup-postfix.sh (smtpd on
#            127.0.0.1:10025), with permit_mynetworks in front of reject_unauth_destination
#            and relayhost = [127.0.0.1]:SINKPORT; installed like postfix.sh does.
# smtpload (the anchors' load generator) sends N messages over 20 pipelined connections and
# waits until every accepted one is in the sink's Maildir; mdcheck verifies each arrived
# exactly once. Both relays fsync their queue; both use opportunistic STARTTLS to the sink.
set -euo pipefail
n=${1:-5000}
size=${2:-4096}
runs=${RUNS:-1}
servers=${SERVERS:-courier postfix}
here=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "relay.sh: run as root" >&2; exit 1; }
. "$here/bench/smtp/lib.sh"
bench_build
(cd "$here" && CGO_ENABLED=0 go build -o bin/courier ./cmd/courier)
work=$(mktemp -d /var/tmp/relay-bench.XXXXXX)
chmod 755 "$work"
out=${OUT:-$work}
mkdir -p "$out"
base=${PORT_BASE:-33000}
sinkbase=$((base + 1000))
sinkport=$((sinkbase + 25))
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${postfix_started:-}" ]; then postfix stop >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

start_qs() { # dir port-base domain
  "$here/bin/courier" quickstart --dir "$1" --port-base "$2" --domain "$3" --password bench-Pass-1 >"$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q "listening smtp" "$1.log" && return 0; sleep 0.1; done
  echo "relay.sh: quickstart in $1 did not start" >&2; cat "$1.log" >&2; return 1
}

start_qs "$work/sink" "$sinkbase" example.net
md="$work/sink/mail/example.net/demo/Maildir"
bench_clean() { find "$md/new" "$md/cur" -type f -delete; }

for server in $servers; do
  case $server in
  courier)
    start_qs "$work/relay" "$base" example.test
    echo "example.net: 127.0.0.1,$sinkport" >"$work/relay/etc/esmtproutes"
    mkdir -p "$work/relay/etc/smtpaccess"
    printf '127.0.0.1\tallow,RELAYCLIENT\n' >"$work/relay/etc/smtpaccess/default"
    COURIER_CONFIG="$work/relay/etc" "$here/bin/courier" makesmtpaccess >/dev/null
    sleep 1 # the running server picks up esmtproutes and smtpaccess.dat by their change stamps
    addr=127.0.0.1:$((base + 25))
    ;;
  postfix)
    bench_setup_postfix
    postconf -e "relayhost = [127.0.0.1]:$sinkport" "default_transport = smtp" "relay_transport = relay"
    sed -i 's/-o smtpd_relay_restrictions=reject_unauth_destination/-o smtpd_relay_restrictions=permit_mynetworks,reject_unauth_destination/' /etc/postfix/master.cf
    postfix check
    postfix start
    postfix_started=1
    for _ in $(seq 50); do ss -ltn | grep -q "127.0.0.1:10025 " && break; sleep 0.2; done
    addr=127.0.0.1:10025
    ;;
  *) echo "relay.sh: unknown server $server" >&2; exit 2 ;;
  esac
  for _ in $(seq "$runs"); do
    bench_load "$server-relay" "$addr" 20 "$n" "$size" demo@example.net "$md"
  done
  case $server in
  courier) kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true ;;
  postfix) postfix stop >/dev/null; postfix_started= ;;
  esac
done
