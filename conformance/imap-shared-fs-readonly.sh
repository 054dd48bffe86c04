# Filesystem shared folders as a user who may not write the sharable folder: the sharable
# maildir belongs to root, the session runs as nobody (setpriv). A "-s read" folder opens
# read-only (Courier's rights on it are those of every shared. folder the user's copy of
# which can change), a "-s write" one read-write with the flags in the user's own copy.
# Left out on purpose: STORE in the read-only folder, which Courier performs (in the user's
# copy) although it said READ-ONLY and we refuse (RFC 3501 §6.3.2); and EXPUNGE of a message
# the user may not remove, where Courier clears \Deleted and says so in an unsolicited FETCH
# while we clear it in the copy silently (shared_test.go covers it).
$MAILDIRMAKE -S notices
$MAILDIRMAKE -s read -f News notices
$MAILDIRMAKE -s write -f Board notices
printf 'From: b@example.test\nSubject: news\n\nnews body\n' | $DELIVERQUOTA notices/.News
printf 'From: b@example.test\nSubject: board\n\nboard body\n' | $DELIVERQUOTA notices/.Board
for f in notices/.*/new/*; do mv "$f" "${f%/new/*}/cur/${f##*/}:2,"; done
chmod a+r notices/.*/cur/*
$MAILDIRMAKE md
$MAILDIRMAKE --add firm=$PWD/notices md
chown -R nobody:nogroup md
asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all env LD_LIBRARY_PATH="$LD_LIBRARY_PATH" "$@"; }
MAILDIR=md asnobody $IMAPD <<'IMAP'
a LIST "" "shared.*"
b SELECT shared.firm.News
c FETCH 1 (FLAGS BODY[HEADER.FIELDS (SUBJECT)])
e MYRIGHTS shared.firm.News
f SELECT shared.firm.Board
g FETCH 1 (FLAGS BODY[HEADER.FIELDS (SUBJECT)])
h STORE 1 +FLAGS (\Flagged)
j FETCH 1 FLAGS
k MYRIGHTS shared.firm.Board
z LOGOUT
IMAP
echo "shared:"; ls notices/.News/cur notices/.Board/cur | sed 's/^[^:]*//'
echo "copy:"; ls md/shared-folders/firm/Board/cur md/shared-folders/firm/News/cur | sed 's/^[^:]*//'
