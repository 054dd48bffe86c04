#!/bin/bash
# Regenerates the *.golden transcripts from Debian's Courier (see ../../../../shared/tools/courier-ref):
#   bash gen.sh    (run from this directory; needs the reference programs unpacked)
set -e
eval "$(/work/shared/tools/courier-ref)"
here=$(pwd)
for t in basic mime folders errors; do
  d=$(mktemp -d /var/tmp/smapgen.XXXX)
  (cd $d && $REF_MAILDIRMAKE md && i=0 && for m in 1 2 3; do i=$((i+1)); f=md/new/$((1600000000+i)).M${i}P1.test
     printf 'Subject: smap %s\nFrom: s%s@example.org\n\nsmap body %s\n' $m $m $m > $f; s=$(stat -c %s $f); mv $f $f,S=$s; touch -d @$((1600000000+i)) $f,S=$s; done
   f=md/new/1600000004.M4P1.test; cp "$here/mime.eml" $f; s=$(stat -c %s $f); mv $f $f,S=$s; touch -d @1600000004 $f,S=$s
   MAILDIR=md PROTOCOL=SMAP1 AUTHENTICATED=root TZ=EST5EDT $REF_IMAPD < "$here/$t.in" > "$here/$t.golden" 2>/dev/null || true)
  rm -rf $d
done
