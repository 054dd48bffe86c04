# Courier's SMAP snapshots: SOPEN with an unknown or malformed id opens like OPEN; NOOP saves
# and announces a snapshot ("* SNAPSHOT id") only after SOPEN and only when the index changed;
# SOPEN with a saved id answers "* SNAPSHOTEXISTS id" and the changes since (EXPUNGE, EXISTS,
# FETCH), with and without keywords; snapshot files live in courierimapsnapshots/.
# Snapshot ids are random: the script captures them from the output to reuse them.
settle() { local d=${1:-md} i=0 f s; for f in $(ls -tr "$d/new"); do i=$((i+1)); s=${f##*,S=}
  mv "$d/new/$f" "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; touch -d @$((1600000000+i)) "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; done; }
lastsnap() { sed -n 's/^\* SNAPSHOT "\(.*\)"$/\1/p' "$1" | tail -1; }
$MAILDIRMAKE md
for i in 1 2 3 4 5; do
  printf 'Subject: snapshot %s\n\nbody %s\n' "$i" "$i" | $DELIVERQUOTA md
done
settle md
# OPEN keeps no snapshots but makes the directory.
MAILDIR=md PROTOCOL=SMAP1 $IMAPD <<'SMAP'
OPEN INBOX
NOOP
LOGOUT
SMAP
test -d md/courierimapsnapshots && echo "snapshot directory made"
MAILDIR=md PROTOCOL=SMAP1 $IMAPD <<'SMAP' > s1.out
SOPEN bogus INBOX
STORE 3 +FLAGS=DELETED
EXPUNGE
IDLE
RESUME
NOOP
NOOP
STORE 1 +FLAGS=SEEN
LOGOUT
SMAP
cat s1.out
id=$(lastsnap s1.out)
echo "snapshots on disk: $(ls md/courierimapsnapshots | wc -l)"
head -1 "md/courierimapsnapshots/$id" | sed 's/^\([0-9]*\) \([0-9]*\) [0-9]* \([0-9]*\)$/\1 \2 UIDV \3/'
tail -n +2 "md/courierimapsnapshots/$id"
# Changes made elsewhere: a flag, an expunge, a new message.
MAILDIR=md PROTOCOL=SMAP1 $IMAPD <<'SMAP'
OPEN INBOX
STORE 2 +FLAGS=MARKED
STORE 4 +FLAGS=DELETED
EXPUNGE
LOGOUT
SMAP
printf 'Subject: snapshot 6\n\nbody 6\n' | $DELIVERQUOTA md
MAILDIR=md PROTOCOL=SMAP1 $IMAPD <<SMAP > s2.out
SOPEN "$id" INBOX
FETCH 1-4 FLAGS
NOOP
NOOP
SOPEN "$id" INBOX
SOPEN .hidden INBOX
SOPEN "" INBOX
SOPEN a/b INBOX
SOPEN "$id" INBOX nope
SOPEN
LOGOUT
SMAP
cat s2.out
echo "snapshots on disk: $(ls md/courierimapsnapshots | wc -l)"
# Keywords: the snapshot keeps them and a restore reports keyword changes.
IMAP_KEYWORDS=1 MAILDIR=md PROTOCOL=SMAP1 $IMAPD <<'SMAP' > s3.out
SOPEN bogus INBOX
STORE 1 +KEYWORDS=foo,bar
STORE 2 +KEYWORDS=bar
NOOP
LOGOUT
SMAP
cat s3.out
kid=$(lastsnap s3.out)
IMAP_KEYWORDS=1 MAILDIR=md PROTOCOL=SMAP1 $IMAPD <<SMAP
OPEN INBOX
STORE 1 -KEYWORDS=foo
STORE 3 +KEYWORDS=baz
SOPEN "$kid" INBOX
FETCH 1-4 FLAGS KEYWORDS
LOGOUT
SMAP
# A NOOP that finds changes (new mail, flags changed elsewhere) reports them and saves no
# snapshot; the next quiet NOOP does.
{ echo 'SOPEN bogus INBOX'; sleep 1; printf 'Subject: snapshot 7\n\nbody 7\n' | $DELIVERQUOTA md; echo NOOP; echo NOOP; echo NOOP
  sleep 1; printf 'OPEN INBOX\nSTORE 1 -FLAGS=SEEN\nLOGOUT\n' | MAILDIR=md PROTOCOL=SMAP1 $IMAPD >/dev/null; echo NOOP; echo NOOP; echo LOGOUT; } |
  MAILDIR=md PROTOCOL=SMAP1 $IMAPD
