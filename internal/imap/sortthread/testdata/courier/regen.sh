#!/bin/bash
# Regenerates the golden answers of real Courier-IMAP for every scenario directory here.
# A scenario holds the messages m1, m2, ... (delivered in that order), an optional "mtimes"
# file (one Unix time per message: its internal date) and "queries" (one SEARCH/SORT/THREAD
# command per line, without tag). The answers go to "golden", one per query:
#   QUERY<TAB>RESPONSE-LINE
# Run from anywhere; needs /work/shared/tools/courier-ref. Runs with TZ=EST5EDT.
set -e
eval "$(/work/shared/tools/courier-ref)"
export TZ=EST5EDT
here=$(cd "$(dirname "$0")" && pwd)
work=/var/tmp/courier-golden.$$
for dir in "$here"/*/; do
	name=$(basename "$dir")
	[ -f "$dir/queries" ] || continue
	rm -rf "$work"; mkdir -p "$work"; cd "$work"
	$REF_MAILDIRMAKE md
	i=0
	for f in $(ls "$dir" | grep -E '^m[0-9]+$' | sort -n -k1.2); do
		i=$((i+1))
		$REF_DELIVERQUOTA md < "$dir/$f"
		new=$(ls md/new | grep -v '\.test,S=' | head -1); s=${new##*,S=}
		t=$((1600000000+i))
		[ -f "$dir/mtimes" ] && t=$(sed -n "${i}p" "$dir/mtimes")
		mv "md/new/$new" "md/new/$((1600000000+i)).M${i}P1.test,S=$s"
		touch -d @$t "md/new/$((1600000000+i)).M${i}P1.test,S=$s"
	done
	{ echo "a SELECT INBOX"; n=0; while IFS= read -r q; do n=$((n+1)); echo "q$n $q"; done < "$dir/queries"; echo "z LOGOUT"; } > cmds
	MAILDIR=md AUTHENTICATED=root IMAP_KEYWORDS=1 $REF_IMAPD < cmds 2>/dev/null | tr -d '\r' > out
	n=0
	: > "$dir/golden"
	while IFS= read -r q; do
		n=$((n+1))
		# the untagged line just before the tagged reply of q$n
		resp=$(awk -v t="q$n" 'BEGIN{r=""} /^\* (SEARCH|SORT|THREAD)/{r=$0; next} $1==t{print (r==""?$2:r); exit} /^q[0-9]+ /{r=""}' out)
		printf '%s\t%s\n' "$q" "$resp" >> "$dir/golden"
	done < "$dir/queries"
	cd /; rm -rf "$work"
done
