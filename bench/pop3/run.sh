#!/usr/bin/env bash
# POP3 download speed against the anchors: one session, USER/PASS, STAT, then RETR of every
# message one command at a time, QUIT without deleting (the anchors' pop3retr client). The
# anchor corpus is 5,000 realistic messages, 219 MB as sent: Dovecot 1.73 s, Courier 150.6 s
# (../shared/anchors/imap/RESULTS.md §3e).
#
#   bench/pop3/run.sh [RUNS]      (default 3 timed runs after one warm-up)
#   DOVECOT=1 bench/pop3/run.sh   (also Dovecot on the same corpus, runs interleaved, so that
#                                  a busy machine slows both alike; needs dovecot-pop3d)
#
# It builds bin/courier and the anchors' genmail and pop3retr, generates the corpus once in
# /var/tmp/pop3bench/pristine (genmail -n 5000 -kind realistic -seed 5 -newpct 0, as the
# anchors' populate.sh), starts a fresh quickstart (port base 34000) and copies the corpus
# into demo's Maildir. The warm-up is also the first login, which moves new/ to cur/ and
# writes courierpop3dsizelist; the timed runs find every size cached there.
set -euo pipefail
runs=${1:-3}
here=$(cd "$(dirname "$0")/../.." && pwd)
export PATH=$PATH:/usr/local/go/bin
bench=/var/tmp/pop3bench
mkdir -p "$bench"
(cd "$here/../shared/anchors/imap" && go build -o "$bench/" ./cmd/genmail ./cmd/pop3retr)
(cd "$here" && go build -o bin/courier ./cmd/courier)
[ -d "$bench/pristine/cur" ] || "$bench/genmail" -n 5000 -kind realistic -seed 5 -newpct 0 -maildir "$bench/pristine"
work=$(mktemp -d /var/tmp/pop3-bench.XXXXXX)
base=${PORT_BASE:-34000}
"$here/bin/courier" quickstart --dir "$work/qs" --port-base "$base" --password bench-Pass-1 >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 300); do grep -q "listening pop3 " "$work/server.log" && break; sleep 0.1; done
md="$work/qs/mail/example.test/demo/Maildir"
rm -rf "$md/cur" "$md/new"
cp -a "$bench/pristine/cur" "$bench/pristine/new" "$md/"
addr=127.0.0.1:$((base + 110))
dovecot_run() { :; }
if [ "${DOVECOT:-0}" = 1 ]; then
  dv=$work/dovecot
  chmod 755 "$work"  # the auth and mail processes run as other users
  mkdir -p "$dv/run" "$dv/state" "$dv/Maildir/tmp"
  cp -a "$bench/pristine/cur" "$bench/pristine/new" "$dv/Maildir/"
  chown -R 65534:65534 "$dv/Maildir"
  echo 'bench:{PLAIN}bench-Pass-1::::::' >"$dv/passwd"
  cat >"$dv/dovecot.conf" <<CONF
protocols = pop3
listen = 127.0.0.1
base_dir = $dv/run
instance_name = pop3bench
state_dir = $dv/state
log_path = $dv/dovecot.log
ssl = no
disable_plaintext_auth = no
mail_location = maildir:$dv/Maildir
passdb {
  driver = passwd-file
  args = $dv/passwd
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=$dv
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $((base + 1110))
  }
  inet_listener pop3s {
    port = 0
  }
}
service anvil {
  chroot =
}
CONF
  dovecot -c "$dv/dovecot.conf"
  trap 'doveadm -c "$dv/dovecot.conf" stop 2>/dev/null; kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
  dovecot_run() { "$bench/pop3retr" -addr 127.0.0.1:$((base + 1110)) -user bench -pass bench-Pass-1 -label "dovecot-$1"; }
  dovecot_run warmup
fi
"$bench/pop3retr" -addr "$addr" -user demo@example.test -pass bench-Pass-1 -label "courier-go-warmup"
for i in $(seq "$runs"); do
  dovecot_run "run$i"
  "$bench/pop3retr" -addr "$addr" -user demo@example.test -pass bench-Pass-1 -label "courier-go-run$i"
done
