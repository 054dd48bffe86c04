# LIST marks INBOX \Marked while it holds a message without the \Seen flag (in new/, or in
# cur/ without S), else \Unmarked, whatever the session did with it (SELECT takes the \Recent
# but the messages stay unseen); other folders get neither (RFC 3501 §7.2.2 makes both
# optional; IMAP_CHECK_ALL_FOLDERS=1, tested in internal/imap/server, marks every folder). LSUB
# marks INBOX the same way when it is subscribed, and not when it is only a parent.
$MAILDIRMAKE md
$MAILDIRMAKE -f Work md
$MAILDIRMAKE -f Empty md
MAILDIR=md $IMAPD <<'IMAP'
a LIST "" *
b LIST "" INBOX
z LOGOUT
IMAP
printf 'Subject: inbox 1\n\nbody 1\n' | $DELIVERQUOTA md
printf 'Subject: work 1\n\nbody 1\n' | $DELIVERQUOTA md/.Work
MAILDIR=md $IMAPD <<'IMAP'
a LIST "" *
b LIST "" %
c SELECT INBOX
d LIST "" INBOX
e STORE 1 +FLAGS (\Seen)
f LIST "" *
g SUBSCRIBE INBOX.Work
h LSUB "" *
i SUBSCRIBE INBOX
j LSUB "" *
k STORE 1 -FLAGS (\Seen)
l LSUB "" INBOX
z LOGOUT
IMAP
# A message filed straight into cur/ with S is seen; one without S is not.
f=$(ls md/cur); mv "md/cur/$f" "md/cur/${f%%:*}:2,FS"
MAILDIR=md $IMAPD <<'IMAP'
a LIST "" INBOX
z LOGOUT
IMAP
printf 'Subject: inbox 2\n\nbody 2\n' | $DELIVERQUOTA md
f=$(ls md/new); mv "md/new/$f" "md/cur/$f:2,F"
MAILDIR=md $IMAPD <<'IMAP'
a LIST "" INBOX
z LOGOUT
IMAP
