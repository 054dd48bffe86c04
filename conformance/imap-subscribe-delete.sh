# DELETE and RENAME leave the subscription list alone, as Courier does: RFC 3501 §6.3.6 says
# a server MUST NOT remove a name from it because the mailbox is gone. With no subscriptions
# yet, neither writes courierimapsubscribed. LSUB then lists the names still subscribed,
# their attributes taken from the subscription list.
$MAILDIRMAKE md
for f in Work Work.Sub Other Old; do $MAILDIRMAKE -f $f md; done
MAILDIR=md $IMAPD <<'IMAP'
a DELETE INBOX.Other
b RENAME INBOX.Old INBOX.Older
z LOGOUT
IMAP
ls md | grep -c courierimapsubscribed
MAILDIR=md $IMAPD <<'IMAP'
a SUBSCRIBE INBOX.Work
b SUBSCRIBE INBOX.Work.Sub
c SUBSCRIBE INBOX.Older
d SUBSCRIBE INBOX.Gone
e DELETE INBOX.Work.Sub
f LSUB "" *
g RENAME INBOX.Older INBOX.Oldest
h LSUB "" *
i DELETE INBOX.Work
j LSUB "" %
k LSUB "" INBOX.%
l LIST "" *
m UNSUBSCRIBE INBOX.Work.Sub
n LSUB "" *
z LOGOUT
IMAP
sort md/courierimapsubscribed
