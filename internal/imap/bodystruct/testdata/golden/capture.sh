#!/bin/bash
# Regenerates NAME.out for each NAME.eml given (default: all) by asking Debian's courier-imap
# (../shared/tools/courier-ref) the FETCH items of golden_test.go's goldenItems. Run it from this
# directory; it works in a scratch folder under /var/tmp (imapd refuses sticky-bit folders).
set -euo pipefail
cd "$(dirname "$0")"
eval "$(/work/shared/tools/courier-ref)"
items=$(sed -n '/^var goldenItems = /,/^}/p' ../../golden_test.go | grep -o '"[^"]*"' | tr -d '"')
[ $# -gt 0 ] || set -- *.eml
for f in "$@"; do
  d=$(mktemp -d /var/tmp/golden.XXXXXX)
  $REF_MAILDIRMAKE "$d/md"
  cp "$f" "$d/md/cur/1600000001.M1P1.test,S=$(stat -c %s "$f"):2,S"
  { echo "a SELECT INBOX"; i=0; while IFS= read -r it; do i=$((i+1)); echo "f$i FETCH 1 $it"; done <<<"$items"; echo "z LOGOUT"; } |
    (cd "$d" && MAILDIR=md AUTHENTICATED=golden TZ=EST5EDT $REF_IMAPD 2>/dev/null) |
    sed -n '/^a OK/,/^\* BYE/p' | sed '1d;$d' |
    grep -av -e $'^f[0-9]* \\(OK\\|NO\\|BAD\\) .*\r$' -e $'^\\* 1 FETCH (FLAGS ([^)]*))\r$' -e '^\* OK \[ALERT\]' >"${f%.eml}.out" || true
  rm -rf "$d"
done
