#!/usr/bin/env bash
# bench/imap/run.sh: the IMAP benchmark of issue 5. Our server (courier quickstart) against
# Dovecot 2.3 (Debian dovecot-imapd) and Courier-IMAP 5.0.13 (Debian courier-imap, unpacked with
# dpkg -x because it conflicts with dovecot-imapd), on this machine, same data, one run,
# servers alternating. Loopback only. See bench/imap/README.md for what each figure means.
#
#   sudo bench/imap/run.sh              # setup + mix + idle + big, then the results tables
#   sudo bench/imap/run.sh setup        # only packages, users, tools, corpora, servers' Maildirs
#   sudo bench/imap/run.sh mix|idle|big # one measurement (runs setup first; it is idempotent)
#   sudo bench/imap/run.sh report       # the tables from the results already in $BENCH_RUN
#   sudo bench/imap/run.sh stop         # stop every server this script started
#
# Settings (environment):
#   SERVERS="go dovecot courier"  which servers, in the order of the first round (later rounds rotate);
#                                 SERVERS=go needs no package and no system user
#   MIX_CLIENTS="10 50" MIX_SECS=30 RUNS=1      mixed load: clients, seconds, rounds
#   MIX_RESET=1                                 reinstall every Maildir before the mixed load
#   IDLE_NS="1000" IDLE_NS_GO="1000 10000"      idle connections (IDLE_NS_GO: ours; others IDLE_NS)
#   IDLE_TLS_GO="0 1"                           ours: idle runs without (0) and with (1) implicit TLS
#                                               (its imaps port, base + 993); the others: no TLS
#   BIG_RUNS=1 DROP_CACHES=1                    100k folder: rounds; drop the page cache for cold
#   MIX_N=3000 BIG_N=100000                     corpus sizes (mix INBOX, big folder)
#   GO_BASE=21000 DOVECOT_PORT=22143 COURIER_PORT=23143   ports (ours: base + 143 = 21143)
#   BENCH_ROOT=/srv/imapbench   data, homes, server state (not under a sticky directory such as
#                               /tmp or /var/tmp: Courier's imapd refuses those)
#   BENCH_BUILD=/tmp/imapbench-build   tools and the unpacked Courier packages
#   BENCH_RUN=$BENCH_ROOT/results/<date>   logs and raw results of this run
#
# It needs root (packages, a system user with a PAM password for Dovecot and Courier,
# dropping the page cache, 10,000 file descriptors). Every server it starts is stopped on exit.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ANCHORS=${ANCHORS:-$(cd "$REPO/.." && pwd)/shared/anchors/imap}
export PATH=$PATH:/usr/local/go/bin

SERVERS=${SERVERS:-"go dovecot courier"}
MIX_CLIENTS=${MIX_CLIENTS:-"10 50"}
MIX_SECS=${MIX_SECS:-30}
MIX_RESET=${MIX_RESET:-1}
RUNS=${RUNS:-1}
IDLE_NS=${IDLE_NS-1000}              # may be empty: no idle run for Dovecot and Courier
IDLE_NS_GO=${IDLE_NS_GO-"1000 10000"}
IDLE_TLS_GO=${IDLE_TLS_GO-"0 1"}
BIG_RUNS=${BIG_RUNS:-1}
DROP_CACHES=${DROP_CACHES:-1}
MIX_N=${MIX_N:-3000}
BIG_N=${BIG_N:-100000}
GO_BASE=${GO_BASE:-21000}
DOVECOT_PORT=${DOVECOT_PORT:-22143}
COURIER_PORT=${COURIER_PORT:-23143}
ROOT=${BENCH_ROOT:-/srv/imapbench}
BUILD=${BENCH_BUILD:-/tmp/imapbench-build}
RUN=${BENCH_RUN:-$ROOT/results/$(date +%Y%m%d-%H%M%S)}
BIN=$BUILD/bin
CX=$BUILD/courier-x
USER_=anbench         # the system user of Dovecot and Courier (the anchors' name)
PASS=anchorpass       # the anchors' password, also our demo account's
GO_USER=demo@example.test
GO_DIR=$ROOT/go       # our quickstart directory
GO_PORT=$((GO_BASE + 143))
GO_TLS_PORT=$((GO_BASE + 993))   # ours, implicit TLS (quickstart's imapd-ssl, self-signed certificate)
PRISTINE=$ROOT/pristine

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "run.sh: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (packages, a system user, page cache, file descriptors)"
ulimit -Hn 65536 2>/dev/null || true   # not allowed in every container; then the hard limit stays
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge 20000 ] || log "warning: ulimit -n is $(ulimit -n); 10,000 idle connections need 20,000"
mkdir -p "$ROOT" "$BUILD" "$BIN" "$RUN"
chmod 755 "$ROOT"

port_of() { case $1 in go) echo "$GO_PORT" ;; dovecot) echo "$DOVECOT_PORT" ;; courier) echo "$COURIER_PORT" ;; esac; }
user_of() { if [ "$1" = go ]; then echo "$GO_USER"; else echo "$USER_"; fi; }
# folder names: Dovecot's default namespace has no prefix; Courier's (and ours) is "INBOX."
box_of() { if [ "$1" = dovecot ]; then echo "$2"; else echo "INBOX.$2"; fi; }
home_of() { getent passwd "$USER_" | cut -d: -f6; }
maildir_of() {
  case $1 in
    go) echo "$GO_DIR/mail/example.test/demo/Maildir" ;;
    dovecot) echo "$(home_of)/Maildir-dovecot" ;;
    courier) echo "$(home_of)/Maildir-courier" ;;
  esac
}
load1() { cut -d' ' -f1 /proc/loadavg; }

# ---------------------------------------------------------------- setup

has_server() { echo " $SERVERS " | grep -q " $1 "; }

setup_packages() {
  # Only Dovecot and Courier need packages: SERVERS=go measures ours alone without them.
  has_server dovecot || has_server courier || return 0
  local need=""
  for p in dovecot-imapd courier-authdaemon libgamin0 libgdbm6 libidn12 libcourier-unicode4; do
    dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
  done
  if [ -n "$need" ]; then
    log "installing$need (services are not started here: policy-rc.d)"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends $need >"$RUN/apt.log" 2>&1 ||
      { apt-get update >>"$RUN/apt.log" 2>&1; DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends $need >>"$RUN/apt.log" 2>&1; }
  fi
  # courier-imap Conflicts with imap-server (dovecot-imapd provides it): unpack, do not install.
  # couriertcpd comes from courier-base, also only unpacked (installing it pulls in courier-mta).
  if [ ! -x "$CX/usr/bin/imapd" ] || [ ! -x "$CX/usr/sbin/couriertcpd" ]; then
    log "unpacking courier-imap and courier-base into $CX"
    mkdir -p "$BUILD/debs" "$CX"
    (cd "$BUILD/debs" && apt-get download courier-imap courier-base >"$RUN/apt-download.log" 2>&1)
    for f in "$BUILD"/debs/courier-imap_*.deb "$BUILD"/debs/courier-base_*.deb; do dpkg -x "$f" "$CX"; done
  fi
}

# Go builds retry: other work may leave the tree briefly uncompilable.
gobuild() { # dir output package
  local i
  for i in 1 2 3 4 5 6; do
    (cd "$1" && go build -o "$2" "$3") 2>"$RUN/build.err" && return 0
    log "build of $3 in $1 failed (try $i), retrying in 30 s: $(head -3 "$RUN/build.err" | tr '\n' ' ')"
    sleep 30
  done
  die "cannot build $3: $(cat "$RUN/build.err")"
}

setup_tools() {
  log "building our courier, the bench tools, and the anchors' genmail and procmem into $BIN"
  gobuild "$REPO" "$BIN/courier" ./cmd/courier
  for t in mixload idleconn bigbox report; do gobuild "$REPO" "$BIN/$t" "./bench/imap/$t"; done
  for t in genmail procmem; do gobuild "$ANCHORS" "$BIN/$t" "./cmd/$t"; done
  {
    echo "commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
      "(uncommitted changes in $(git -C "$REPO" status --short 2>/dev/null | wc -l) files of the tree)"
    echo "dovecot $(dpkg-query -W -f='${Version}' dovecot-imapd 2>/dev/null || echo none)"
    echo "courier-imap $(dpkg-deb -f "$(ls "$BUILD"/debs/courier-imap_*.deb 2>/dev/null | head -1)" Version 2>/dev/null || echo none) (unpacked)"
    echo "authdaemon $(dpkg-query -W -f='${Version}' courier-authdaemon 2>/dev/null || echo none)"
    echo "go $(go env GOVERSION); kernel $(uname -r); $(nproc) CPUs; $(free -g | awk '/Mem:/{print $2}') GiB"
  } >"$RUN/versions.txt"
}

setup_user() {
  if ! has_server dovecot && ! has_server courier; then
    # ours alone needs no system user; inotify limits still matter (see below)
    sysctl -qw fs.inotify.max_user_instances=16384 fs.inotify.max_user_watches=1048576
    return 0
  fi
  # As the anchors' setup-users.sh: a system user with a SHA512-crypt password (not yescrypt, so
  # that the cost of one login is a few ms), PAM for Courier's authpam, inotify limits for
  # many IDLE connections (Dovecot holds one inotify instance per IDLE; ours watches folders).
  if ! id "$USER_" >/dev/null 2>&1; then
    mkdir -p "$ROOT/home"; chmod 755 "$ROOT/home"
    useradd -m -d "$ROOT/home/$USER_" -s /usr/sbin/nologin "$USER_"
  fi
  echo "$USER_:$PASS" | chpasswd -c SHA512
  [ -f /etc/pam.d/imap ] || cp "$CX/etc/pam.d/imap" /etc/pam.d/imap
  sysctl -qw fs.inotify.max_user_instances=16384 fs.inotify.max_user_watches=1048576
  case "$(home_of)" in /tmp/*|/var/tmp/*) die "$USER_'s home $(home_of) is under a sticky directory: Courier refuses it" ;; esac
}

setup_corpora() {
  # The anchors' corpora (scripts/populate.sh), same seeds: the mix INBOX (realistic, 2 KB-200 KB
  # MIME mail), the APPEND source, a 20-message folder for IDLE, the 100k small-message folder.
  mkdir -p "$PRISTINE"
  local G=$BIN/genmail
  [ -d "$PRISTINE/bench-$MIX_N" ] || { log "genmail: $MIX_N realistic messages"; $G -n "$MIX_N" -kind realistic -seed 1 -maildir "$PRISTINE/bench-$MIX_N" >/dev/null; }
  [ -f "$PRISTINE/append.mbox" ] || $G -n 1000 -kind realistic -seed 2 -mbox "$PRISTINE/append.mbox" >/dev/null
  [ -d "$PRISTINE/idle" ] || $G -n 20 -kind small -seed 3 -maildir "$PRISTINE/idle" >/dev/null
  [ -d "$PRISTINE/big-$BIG_N" ] || { log "genmail: $BIG_N small messages"; $G -n "$BIG_N" -kind small -seed 4 -newpct 0 -maildir "$PRISTINE/big-$BIG_N" >/dev/null; }
}

owner_of() { if [ "$1" = go ]; then echo root; else echo "$USER_"; fi; }

# install_maildir SERVER: INBOX = the mix corpus, INBOX.idle / idle = the 20-message folder.
install_maildir() {
  local s=$1 md; md=$(maildir_of "$1")
  rm -rf "$md"; mkdir -p "$(dirname "$md")"
  cp -a "$PRISTINE/bench-$MIX_N" "$md"
  cp -a "$PRISTINE/idle" "$md/.idle"; touch "$md/.idle/maildirfolder"
  chown -R "$(owner_of "$s"):$(owner_of "$s")" "$md"; chmod 700 "$md"
}

# reset_big SERVER: a fresh copy of the 100k folder (no index, no UID list of any server).
reset_big() {
  local s=$1 md; md=$(maildir_of "$1")
  rm -rf "$md/.big"
  cp -a "$PRISTINE/big-$BIG_N" "$md/.big"; touch "$md/.big/maildirfolder"
  chown -R "$(owner_of "$s"):$(owner_of "$s")" "$md/.big"
}

setup_go() {
  if [ ! -f "$GO_DIR/etc/imapd" ]; then
    log "creating our quickstart in $GO_DIR (port base $GO_BASE)"
    start_go
    stop_go
  fi
  # Quickstart allows 40 IMAP connections (MAXDAEMONS), 100 from one address (MAXPERIP):
  # raised for 10,000 idle connections from 127.0.0.1, as the anchors' configs raise theirs.
  sed -i -e 's/^MAXDAEMONS=.*/MAXDAEMONS=20000/' -e 's/^MAXPERIP=.*/MAXPERIP=20000/' "$GO_DIR/etc/imapd"
}

setup_dovecot() {
  # The anchors' config/dovecot.conf, IMAP only, on our port and state directories.
  mkdir -p "$ROOT/dovecot/state"
  cat >"$ROOT/dovecot/dovecot.conf" <<CONF
# Generated by bench/imap/run.sh from the anchors' config/dovecot.conf (IMAP only).
protocols = imap
listen = 127.0.0.1
base_dir = $ROOT/dovecot/run
instance_name = imapbench
state_dir = $ROOT/dovecot/state
log_path = $RUN/dovecot.log
info_log_path = $RUN/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir-dovecot
mail_privileged_group = mail
first_valid_uid = 100
passdb {
  driver = pam
  args = dovecot
}
userdb {
  driver = passwd
}
# Limits raised so that 10,000 connections of one user from 127.0.0.1 work.
default_client_limit = 22000
default_process_limit = 1000
default_vsz_limit = 256M
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $DOVECOT_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service imap {
  process_limit = 11000
}
service anvil {
  client_limit = 22003
}
service auth {
  client_limit = 22000
}
protocol imap {
  mail_max_userip_connections = 20000
}
CONF
}

setup_courier() {
  # The anchors' config/courier-imapd.env (Debian 12's /etc/courier/imapd defaults) on our port,
  # with MAXDAEMONS/MAXPERIP raised for 10,000 connections.
  mkdir -p "$ROOT/courier"
  sed -e "s/^PORT=.*/PORT=$COURIER_PORT/" -e 's/^MAXDAEMONS=.*/MAXDAEMONS=11000/' -e 's/^MAXPERIP=.*/MAXPERIP=11000/' \
    "$ANCHORS/config/courier-imapd.env" >"$ROOT/courier/imapd.env"
}

setup() {
  setup_packages
  setup_tools
  setup_user
  setup_corpora
  for s in $SERVERS; do "setup_$s"; done
  for s in $SERVERS; do
    if [ ! -d "$(maildir_of "$s")/.idle" ]; then log "installing the corpus for $s"; install_maildir "$s"; fi
  done
}

# ---------------------------------------------------------------- servers

port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }
wait_port() { # port seconds
  local i
  for i in $(seq $(($2 * 10))); do ! port_free "$1" && return 0; sleep 0.1; done
  return 1
}

start_go() {
  port_free "$GO_PORT" || die "port $GO_PORT is in use"
  setsid "$BIN/courier" quickstart --dir "$GO_DIR" --port-base "$GO_BASE" --password "$PASS" \
    >>"$RUN/go.log" 2>&1 </dev/null &
  echo $! >"$ROOT/go.pid"
  wait_port "$GO_PORT" 60 || die "our server did not listen on $GO_PORT (see $RUN/go.log)"
  wait_port "$GO_TLS_PORT" 10 || log "warning: our server does not listen on its imaps port $GO_TLS_PORT"
}
stop_go() {
  local p; p=$(cat "$ROOT/go.pid" 2>/dev/null) || return 0
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  rm -f "$ROOT/go.pid"
}
pids_go() { cat "$ROOT/go.pid"; }

start_dovecot() {
  port_free "$DOVECOT_PORT" || die "port $DOVECOT_PORT is in use"
  dovecot -c "$ROOT/dovecot/dovecot.conf"
  wait_port "$DOVECOT_PORT" 30 || die "Dovecot did not listen on $DOVECOT_PORT (see $RUN/dovecot.log)"
  cp "$ROOT/dovecot/run/master.pid" "$ROOT/dovecot.pid"
}
stop_dovecot() {
  [ -f "$ROOT/dovecot.pid" ] || return 0
  doveadm -c "$ROOT/dovecot/dovecot.conf" stop 2>/dev/null || kill -TERM "$(cat "$ROOT/dovecot.pid")" 2>/dev/null || true
  for _ in $(seq 300); do [ -e "$ROOT/dovecot/run/master.pid" ] || break; sleep 0.1; done
  rm -f "$ROOT/dovecot.pid"
}
pids_dovecot() { cat "$ROOT/dovecot.pid"; }

start_courier() {
  port_free "$COURIER_PORT" || die "port $COURIER_PORT is in use"
  if ! [ -s /run/courier/authdaemon/pid ] || ! kill -0 "$(cat /run/courier/authdaemon/pid)" 2>/dev/null; then
    mkdir -p /run/courier/authdaemon; chown daemon:daemon /run/courier/authdaemon 2>/dev/null || true
    /usr/sbin/authdaemond start
    touch "$ROOT/authdaemond.started"
    for _ in $(seq 50); do [ -S /run/courier/authdaemon/socket ] && break; sleep 0.1; done
  fi
  # As the anchors' start-courier.sh: couriertcpd in the foreground under setsid, with
  # Debian's environment; imaplogin authenticates through authdaemond (authpam) and runs imapd.
  env -i PATH=/usr/bin:/bin:/usr/sbin:/sbin /bin/sh -c "set -a; . '$ROOT/courier/imapd.env'; \
    ulimit -n 20000; ulimit -v \${IMAP_ULIMITD:-unlimited} 2>/dev/null; umask \${IMAP_UMASK:-022}; \
    exec setsid '$CX/usr/sbin/couriertcpd' -address=\$ADDRESS -maxprocs=\$MAXDAEMONS -maxperip=\$MAXPERIP \
      \$TCPDOPTS \$PORT '$CX/usr/lib/courier/courier/imaplogin' '$CX/usr/bin/imapd' \$MAILDIRPATH" \
    >>"$RUN/courier.log" 2>&1 </dev/null &
  echo $! >"$ROOT/courier.pid"
  wait_port "$COURIER_PORT" 30 || die "Courier did not listen on $COURIER_PORT (see $RUN/courier.log)"
}
stop_courier() {
  local p; p=$(cat "$ROOT/courier.pid" 2>/dev/null) || return 0
  # per-connection imapd processes first, then the listener
  for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do kill "$c" 2>/dev/null || true; done
  kill "$p" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  rm -f "$ROOT/courier.pid"
}
stop_authdaemond() {
  if [ -e "$ROOT/authdaemond.started" ]; then /usr/sbin/authdaemond stop 2>/dev/null || true; rm -f "$ROOT/authdaemond.started"; fi
}
pids_courier() { cat "$ROOT/courier.pid"; }

running() { case $1 in go) [ -f "$ROOT/go.pid" ] ;; dovecot) [ -f "$ROOT/dovecot.pid" ] ;; courier) [ -f "$ROOT/courier.pid" ] ;; esac; }
ensure_started() { running "$1" || "start_$1"; }
restart() { "stop_$1"; "start_$1"; }
stop_all() { for s in go dovecot courier; do "stop_$s" || true; done; stop_authdaemond; }

dropcaches() { [ "$DROP_CACHES" = 1 ] && { sync; echo 3 >/proc/sys/vm/drop_caches; } || true; }

# rotate N: the server list rotated by N places, so that no server always goes first.
rotate() {
  local -a a=($SERVERS); local n=${#a[@]} i
  for i in $(seq 0 $((n - 1))); do printf '%s ' "${a[$(((i + $1) % n))]}"; done
}

# ---------------------------------------------------------------- measurements

uptime_note() { echo "$(date +%H:%M:%S) $1: $(uptime)" | tee -a "$RUN/uptime.txt" >&2; }

measure_mix() {
  local c r s
  if [ "$MIX_RESET" = 1 ]; then
    # the same starting INBOX for every server (the mix keeps its size, not its contents)
    for s in $SERVERS; do "stop_$s"; install_maildir "$s"; done
  fi
  for c in $MIX_CLIENTS; do for r in $(seq "$RUNS"); do for s in $(rotate $((r - 1))); do
    ensure_started "$s"
    uptime_note "mix $s c=$c run $r"
    "$BIN/mixload" -addr "127.0.0.1:$(port_of "$s")" -user "$(user_of "$s")" -pass "$PASS" \
      -clients "$c" -duration "${MIX_SECS}s" -append-mbox "$PRISTINE/append.mbox" \
      -label "$s-c$c-r$r" >"$RUN/mix-$s-c$c-r$r.txt" 2>&1 || log "mixload against $s failed: $(tail -2 "$RUN/mix-$s-c$c-r$r.txt")"
    grep -E '^(command|total|errors:)|^  error' "$RUN/mix-$s-c$c-r$r.txt" | sed "s/^/  $s c=$c: /" >&2 || true
    sleep 2
  done; done; done
}

# idle_one SERVER N [TLS]: PSS/RSS of the server's process tree before and after N idle
# connections; TLS=1 (ours only) connects with implicit TLS to the imaps port.
idle_one() {
  local s=$1 n=$2 tls=${3:-0} roots ready out before after cpid ok port name tlsflag=""
  port=$(port_of "$s") name=$s
  if [ "$tls" = 1 ]; then port=$GO_TLS_PORT name=$s-tls tlsflag=-tls; fi
  restart "$s"   # a fresh server: earlier load must not have grown (or freed) what is measured
  # one untimed session first, so that one-time work (auth caches, the folder's index, TLS
  # session ticket keys) is in the baseline
  "$BIN/idleconn" -addr "127.0.0.1:$port" $tlsflag -user "$(user_of "$s")" -pass "$PASS" \
    -mailbox "$(box_of "$s" idle)" -n 1 -hold 0s >/dev/null 2>&1 || true
  sleep 3
  roots=$("pids_$s")
  before=$("$BIN/procmem" -root "$roots")
  ready=$RUN/idle-ready.$name.$n; rm -f "$ready"
  out=$RUN/idle-$name-$n.client.txt
  uptime_note "idle $name n=$n"
  setsid "$BIN/idleconn" -addr "127.0.0.1:$port" $tlsflag -user "$(user_of "$s")" -pass "$PASS" \
    -mailbox "$(box_of "$s" idle)" -n "$n" -par 20 -hold 900s -ready-file "$ready" >"$out" 2>&1 </dev/null &
  cpid=$!
  for _ in $(seq 900); do [ -e "$ready" ] && break; kill -0 "$cpid" 2>/dev/null || break; sleep 1; done
  sleep "${SETTLE:-5}"
  after=$("$BIN/procmem" -root "$roots" -v)
  ok=$(cut -d' ' -f1 "$ready" 2>/dev/null || echo 0)
  kill -TERM "$cpid" 2>/dev/null || true
  wait "$cpid" 2>/dev/null || true
  get() { echo "$1" | head -1 | tr ' ' '\n' | grep "^$2=" | cut -d= -f2; }
  local rb pb ra pa setup failed alive
  rb=$(get "$before" rss_kb) pb=$(get "$before" pss_kb) ra=$(get "$after" rss_kb) pa=$(get "$after" pss_kb)
  setup=$(sed -n 's/^READY .* setup \([0-9.]*\)s$/\1/p' "$out")
  failed=$(sed -n 's/^READY [0-9]* idle connections (\([0-9]*\) failed).*/\1/p' "$out")
  alive=$(sed -n 's/^DONE \([0-9]*\) .*/\1/p' "$out")
  echo "server=$s tls=$tls n=$n ok=$ok failed=${failed:-?} alive_at_teardown=${alive:-?} setup_s=${setup:-?}" \
    "rss_kb_before=$rb rss_kb_after=$ra pss_kb_before=$pb pss_kb_after=$pa" \
    "pss_kb_per_conn=$(awk -v a="$pa" -v b="$pb" -v n="$ok" 'BEGIN{printf "%.1f",(a-b)/(n?n:1)}')" \
    "rss_kb_per_conn=$(awk -v a="$ra" -v b="$rb" -v n="$ok" 'BEGIN{printf "%.1f",(a-b)/(n?n:1)}')" \
    "procs_after=$(get "$after" procs) load1=$(load1)" | tee "$RUN/idle-$name-$n.txt" >&2
  echo "$after" | tail -n +2 | sed 's/^/    /' >>"$RUN/idle-$name-$n.txt"
  grep -E 'first error' "$out" | sed 's/^/    client: /' | tee -a "$RUN/idle-$name-$n.txt" >&2 || true
  rm -f "$ready"
  sleep 5
}

measure_idle() {
  local n s t i=0
  for n in $IDLE_NS_GO; do
    # ours is one process: a socket per connection (one inotify instance for the whole process)
    [ $((n + 200)) -le "$(ulimit -n)" ] ||
      log "warning: $n idle connections to our server need about $((n + 200)) descriptors; ulimit -n is $(ulimit -n)"
  done
  for n in $(echo $IDLE_NS $IDLE_NS_GO | tr ' ' '\n' | sort -n | uniq); do
    for s in $(rotate $i); do
      if [ "$s" = go ]; then
        echo " $IDLE_NS_GO " | grep -q " $n " || continue
        for t in $IDLE_TLS_GO; do idle_one "$s" "$n" "$t"; done
        continue
      fi
      echo " $IDLE_NS " | grep -q " $n " || continue
      idle_one "$s" "$n"
    done
    i=$((i + 1))
  done
}

# big_one SERVER ROUND: first (fresh copy, restart, cold cache), warm (again at once, new
# connection), restart (server restarted, cold cache, its index/UID list kept).
big_one() {
  local s=$1 r=$2 a
  a=(-addr "127.0.0.1:$(port_of "$s")" -user "$(user_of "$s")" -pass "$PASS" -mailbox "$(box_of "$s" big)" -want-hits $((BIG_N / 100)))
  "stop_$s"; reset_big "$s"; dropcaches; "start_$s"; sleep 1
  uptime_note "big $s round $r"
  "$BIN/bigbox" "${a[@]}" -label "$s-first-r$r" | tee -a "$RUN/big.txt" >&2
  "$BIN/bigbox" "${a[@]}" -label "$s-warm-r$r" | tee -a "$RUN/big.txt" >&2
  "$BIN/bigbox" "${a[@]}" -label "$s-warm2-r$r" | tee -a "$RUN/big.txt" >&2
  "stop_$s"; dropcaches; "start_$s"; sleep 1
  "$BIN/bigbox" "${a[@]}" -label "$s-restart-r$r" | tee -a "$RUN/big.txt" >&2
}

measure_big() {
  local r s
  for r in $(seq "$BIG_RUNS"); do for s in $(rotate $((r - 1))); do big_one "$s" "$r"; done; done
}

report() { "$BIN/report" -dir "$RUN" | tee "$RUN/report.md"; }

# ---------------------------------------------------------------- main

what=${1:-all}
case $what in
  stop) stop_all; exit 0 ;;
  report) report; exit 0 ;;
  setup|mix|idle|big|all) ;;
  *) die "unknown step $what (all, setup, mix, idle, big, report, stop)" ;;
esac
trap 'stop_all' EXIT
log "results in $RUN"
setup
[ "$what" = setup ] && exit 0
uptime_note "start"
case $what in
  mix) measure_mix ;;
  idle) measure_idle ;;
  big) measure_big ;;
  all) measure_mix; measure_idle; measure_big ;;
esac
stop_all
report
log "done; raw results in $RUN"
