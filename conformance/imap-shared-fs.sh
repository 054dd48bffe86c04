# Filesystem-permission shared folders over IMAP (README.sharedfolders.html): a sharable
# maildir made with maildirmake -S and -s, attached with --add, then LIST, LSUB, SUBSCRIBE,
# STATUS, SELECT, FETCH and STORE (flags kept in each user's own copy under shared-folders/),
# new mail reaching the copies, EXPUNGE, DELETE and UNSUBSCRIBE, the rights Courier reports and
# what it refuses (CREATE, RENAME, GETACL). APPEND is left out on purpose: Courier stores the
# message as if the sharable folder were the user's own (its APPENDUID is a UID of the sharable
# folder's courierimapuiddb, not of the folder the client sees, against RFC 4315) and drops the
# flags from the user's copy; ours answers with the UID in the user's copy and keeps the flags
# (internal/imap/server/shared_test.go).
msgflags() { # the info part of each message of a copy or folder, sorted
	for f in "$@"; do ls "$f" | sed 's/^[^:]*//'; done | sort | tr '\n' ' '; echo
}
copyfiles() { # the entries of a copy that Courier and we both keep
	find "$1" -mindepth 1 -maxdepth 1 \( -name cur -o -name new -o -name tmp -o -name shared -o -name shared-timestamp \) -printf '%f %y\n' | sort | tr '\n' ' '; echo
}
$MAILDIRMAKE -S notices
$MAILDIRMAKE -s write -f Weekly notices
$MAILDIRMAKE -s read -f News notices
$MAILDIRMAKE -s read -f News.Archive notices
printf 'From: a@example.test\nSubject: one\n\nbody one\n' | $DELIVERQUOTA notices/.Weekly
sleep 1 # message files named in delivery order, whatever the microseconds
printf 'From: a@example.test\nSubject: two\n\nbody two\n' | $DELIVERQUOTA notices/.Weekly
printf 'From: b@example.test\nSubject: news\n\nnews body\n' | $DELIVERQUOTA notices/.News
$MAILDIRMAKE alice
$MAILDIRMAKE -f Work alice
$MAILDIRMAKE bob
$MAILDIRMAKE --add firm=$PWD/notices alice
$MAILDIRMAKE --add firm=$PWD/notices bob
echo "--- alice lists and subscribes"
MAILDIR=alice $IMAPD <<'IMAP'
a LIST "" "*"
b LIST "" "shared.%"
c LIST "" "%"
d LIST "shared.firm." "%"
e LIST "" "shared.firm.*"
f LSUB "" "*"
g SUBSCRIBE shared.firm.Weekly
h SUBSCRIBE shared.firm.Weekly
i SUBSCRIBE shared.nosuch.Weekly
j LSUB "" "*"
k STATUS shared.firm.Weekly (MESSAGES RECENT UIDNEXT UNSEEN)
l STATUS shared.firm.Nothing (MESSAGES)
m MYRIGHTS shared.firm.Weekly
n GETACL shared.firm.Weekly
o CREATE shared.firm.New
p RENAME shared.firm.News shared.firm.Old
q SELECT shared.firm
z LOGOUT
IMAP
echo "alice copies:"; ls alice/shared-folders/firm | tr '\n' ' '; echo
copyfiles alice/shared-folders/firm/Weekly
readlink alice/shared-folders/firm/Weekly/shared | sed "s|$PWD|HERE|"
echo "--- alice reads and flags"
sleep 1 # each session in a second of its own: UID databases and shared-timestamp go by the second
MAILDIR=alice $IMAPD <<'IMAP'
a SELECT shared.firm.Weekly
b FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])
c STORE 1 +FLAGS (\Flagged)
d FETCH 2 BODY[TEXT]
e FETCH 1:* FLAGS
f STORE 2 -FLAGS (\Seen)
g EXAMINE shared.firm.News
h FETCH 1 (FLAGS BODY[HEADER.FIELDS (SUBJECT)])
i LSUB "" "shared.*"
z LOGOUT
IMAP
echo "alice Weekly copy:"; msgflags alice/shared-folders/firm/Weekly/cur alice/shared-folders/firm/Weekly/new
echo "shared Weekly:"; msgflags notices/.Weekly/cur notices/.Weekly/new
echo "--- new mail, bob's own flags"
sleep 1
printf 'From: a@example.test\nSubject: three\n\nbody three\n' | $DELIVERQUOTA notices/.Weekly
sleep 1
MAILDIR=bob $IMAPD <<'IMAP'
a SELECT shared.firm.Weekly
b FETCH 1:* (UID FLAGS)
c STORE 3 +FLAGS (\Answered)
d LSUB "" "*"
z LOGOUT
IMAP
echo "bob Weekly copy:"; msgflags bob/shared-folders/firm/Weekly/cur bob/shared-folders/firm/Weekly/new
echo "--- alice again: the new message, expunge"
sleep 1
MAILDIR=alice $IMAPD <<'IMAP'
a SELECT shared.firm.Weekly
b FETCH 1:* (UID FLAGS)
c STORE 2 +FLAGS (\Deleted)
d EXPUNGE
e FETCH 1:* (UID FLAGS)
g NOOP
h FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])
i SELECT INBOX
j UNSUBSCRIBE shared.firm.Weekly
k LSUB "" "*"
l DELETE shared.firm.News
m LSUB "" "*"
z LOGOUT
IMAP
echo "shared Weekly:"; msgflags notices/.Weekly/cur notices/.Weekly/new
echo "alice copies:"; ls alice/shared-folders/firm 2>&1 | tr '\n' ' '; echo
echo "--- bob sees the expunge"
sleep 1
MAILDIR=bob $IMAPD <<'IMAP'
a SELECT shared.firm.Weekly
b FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])
z LOGOUT
IMAP
