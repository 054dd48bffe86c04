# Shared by run.sh (our server) and postfix.sh (the Postfix anchor): build the anchors' load
# generator and run one verified load. Sourced, not run.
#
# bench_build                 builds smtpload and mdcheck into $bin (default /var/tmp/smtpbin)
# bench_setup_postfix         installs Postfix if missing (Debian's "Local only" preseed; the
#   package's own start is left to policy-rc.d), creates u1..u4 and configures it with a copy
#   of the anchors' setup-postfix.sh (so the anchors' etc/ is not rewritten): smtpd on
#   127.0.0.1:10025 only, local(8) to ~/Maildir. Not started.
# bench_load LABEL ADDR CONNS TOTAL SIZE RCPTS MAILDIRS
#   empties the Maildirs (bench_clean, which the caller defines), sends TOTAL messages of
#   ~SIZE bytes over CONNS pipelined connections, waits until every accepted message is in
#   the Maildirs, verifies each accepted Message-ID is there exactly once (mdcheck), prints
#   one line with the 1-minute load average before and after, and appends a TSV row to
#   $out/results.tsv.
# Callers set: here (checkout root), out (results directory); ANCHORS may name the anchors
# directory (default ../shared/anchors/smtp beside the checkout).
bin=${BENCH_BIN:-/var/tmp/smtpbin}
anchors=${ANCHORS:-$here/../shared/anchors/smtp}   # the anchors' checkout (load generator, Postfix scripts)
export PATH=$PATH:/usr/local/go/bin

bench_build() {
  mkdir -p "$bin"
  (cd "$anchors/loadgen" && go build -o "$bin/" ./cmd/...)
}

bench_load() {
  local label=$1 addr=$2 c=$3 total=$4 size=$5 rcpts=$6 maildirs=$7
  local per=$(( total / c )) tag="$1-c$3-s$5"
  bench_clean
  sync; sleep 1
  local la0 la1
  la0=$(cut -d' ' -f1 /proc/loadavg)
  "$bin/smtpload" -addr "$addr" -c "$c" -n "$per" -size "$size" -rcpt "$rcpts" -run "$tag-$(date +%s)" \
    -ids "$out/$tag.ids" -wait-maildirs "$maildirs" -wait-max 600s -max-time 900s -json "$out/$tag.json" >/dev/null
  la1=$(cut -d' ' -f1 /proc/loadavg)
  "$bin/mdcheck" -maildirs "$maildirs" -ids "$out/$tag.ids" >"$out/$tag.check.json" || {
    echo "$tag: mdcheck failed:"; cat "$out/$tag.check.json"; return 1; }
  python3 - "$out/$tag" "$label" "$c" "$size" "$la0" "$la1" "$out/results.tsv" <<'PY'
import json, sys
base, label, c, size, la0, la1, tsv = sys.argv[1:]
r = json.load(open(base + ".json")); k = json.load(open(base + ".check.json"))
lat = r["latency_ms"]
row = [label, c, size, r["accepted"], r["attempted"], f"{r['accepted_msgs_per_s']:.0f}",
       f"{r.get('e2e_delivered_msgs_per_s', 0):.0f}", f"{lat['p50']:.1f}", f"{lat['p99']:.1f}",
       r["final_4xx"], r["final_5xx"], r["net_errors"], k["missing"], k["duplicates"], la0, la1]
print(f"{label:>8} c{c:<3} {int(size)//1024:>3} KB: accepted {r['accepted']}/{r['attempted']}  "
      f"accepted/s {row[5]}  delivered/s {row[6]}  p50 {row[7]} ms  p99 {row[8]} ms  "
      f"4xx {row[9]} 5xx {row[10]} neterr {row[11]}  missing {row[12]} dup {row[13]}  load {la0} -> {la1}")
with open(tsv, "a") as f:
    f.write("\t".join(str(x) for x in row) + "\n")
PY
}

bench_setup_postfix() {
  if ! command -v postfix >/dev/null; then
    echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
    echo "postfix postfix/mailname string mta.example.test" | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y postfix
  fi
  "$anchors/scripts/mkusers.sh"
  local setup
  setup=$(mktemp -d /var/tmp/postfix-setup.XXXXXX)
  cp "$anchors/postfix/setup-postfix.sh" "$setup/"
  PORT=10025 "$setup/setup-postfix.sh" >/dev/null
  rm -rf "$setup"
}
