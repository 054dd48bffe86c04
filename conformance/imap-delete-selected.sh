# DELETE and RENAME of the selected folder (or RENAME of a folder above it) are refused, as
# Courier does, and the session stays in the selected state: RFC 3501 gives no way to tell
# the client that its folder went away short of BYE, and its next command would fail.
$MAILDIRMAKE md
$MAILDIRMAKE -f Work md
$MAILDIRMAKE -f Work.Sub md
for i in 1 2; do printf 'Subject: m%s\n\nbody %s\n' $i $i | $DELIVERQUOTA md/.Work; sleep 0.02; done
MAILDIR=md $IMAPD <<'IMAP'
a SELECT INBOX.Work
b DELETE INBOX.Work
c FETCH 1:* (FLAGS)
d RENAME INBOX.Work INBOX.Play
e FETCH 2 (FLAGS)
f SELECT INBOX.Work.Sub
g RENAME INBOX.Work INBOX.Play
h DELETE INBOX.Work.Sub
i NOOP
j SELECT INBOX
k DELETE INBOX
l RENAME INBOX.Work INBOX.Play
m DELETE INBOX.Play.Sub
n STATUS INBOX.Play (MESSAGES)
z LOGOUT
IMAP
ls -a md | grep '^\.[A-Z]'
