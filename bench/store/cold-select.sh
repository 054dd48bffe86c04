#!/usr/bin/env bash
# The first SELECT of the 100,000-message folder through a whole imapd process, as a user's
# first login sees it: pre-authenticated imapd on stdin/stdout (as courier-diff runs it), the
# folder with no index and no courierimapuiddb (-u: with the courierimapuiddb Courier's imapd
# made for it, as a folder Courier used), the page cache dropped before each run (root). The
# process start-up (reading the binary from a cold cache) is included. It runs in the folder's
# parent directory: Courier refuses a sticky one such as /var/tmp.
#
#   bench/store/cold-select.sh [-u] [-n RUNS] [ours|courier|PROGRAM]...
#
# ours is bin/courier (make build); courier is the reference imapd (../shared/tools/courier-ref);
# any other PROGRAM is run as "PROGRAM imapd" (an older build of ours). Servers are taken in
# turn, RUNS rounds; it prints the milliseconds from start to SELECT's tagged OK, per run.
# The folder is $COURIER_BIG_MAILDIR or /var/tmp/courier-bench/big100k (made by the Go
# benchmarks, see README.md); its gomailindex and courierimapuiddb are removed.
set -euo pipefail
cd "$(dirname "$0")/../.."
md=${COURIER_BIG_MAILDIR:-/var/tmp/courier-bench/big100k}
runs=3 uiddb=
while getopts un: o; do
	case $o in
	u) uiddb=$md.courierimapuiddb ;;
	n) runs=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- ours courier
[ -d "$md/cur" ] || { echo "no $md: run the Go benchmarks once (README.md)" >&2; exit 1; }
eval "$(../shared/tools/courier-ref)"

# cmd NAME: the command line of a server
cmd() {
	case $1 in
	ours) echo "$PWD/bin/courier imapd" ;;
	courier) echo "$REF_IMAPD" ;;
	*) echo "$1 imapd" ;;
	esac
}

# selectMS NAME: one cold first SELECT; prints its milliseconds
selectMS() {
	local c t0 l ms=
	c=$(cmd "$1")
	rm -f "$md/gomailindex" "$md/courierimapuiddb"
	[ -z "$uiddb" ] || cp "$uiddb" "$md/courierimapuiddb"
	sync
	echo 3 >/proc/sys/vm/drop_caches
	t0=$(date +%s%N)
	coproc IMAPD { cd "$(dirname "$md")" && MAILDIR=$md AUTHENTICATED=bench exec $c 2>/dev/null; }
	local from=${IMAPD[0]} to=${IMAPD[1]}
	printf 'a SELECT INBOX\r\n' >&"$to"
	while IFS= read -r l <&"$from"; do
		case $l in "a "*)
			ms=$((($(date +%s%N) - t0) / 1000000))
			break
			;;
		esac
	done
	printf 'z LOGOUT\r\n' >&"$to" || true
	wait "$IMAPD_PID" || true
	echo "${ms:-failed}"
}

if [ -n "$uiddb" ] && [ ! -f "$uiddb" ]; then
	# the database Courier's imapd writes for this folder, made once
	rm -f "$md/gomailindex" "$md/courierimapuiddb"
	printf 'a SELECT INBOX\r\nz LOGOUT\r\n' | (cd "$(dirname "$md")" && MAILDIR=$md AUTHENTICATED=bench "$REF_IMAPD" >/dev/null 2>&1)
	cp "$md/courierimapuiddb" "$uiddb"
fi
echo "# $(uptime)"
for r in $(seq "$runs"); do
	for s in "$@"; do
		echo "$s $(selectMS "$s") ms"
	done
done
rm -f "$md/gomailindex" "$md/courierimapuiddb"
