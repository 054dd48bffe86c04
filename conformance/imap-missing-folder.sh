# Commands on a folder that does not exist answer NO without a response code, as Courier's
# imapd does (it sends none of RFC 5530's codes: no [NONEXISTENT], no [ALREADYEXISTS]); COPY
# and APPEND into one answer NO [TRYCREATE] (RFC 3501 §6.4.7, §6.3.11); a full quota is
# NO [ALERT]. RENAME of a name with no folder at all is left out: Courier answers OK and does
# nothing, where RFC 3501 §6.3.5 calls it an error; we answer NO.
$MAILDIRMAKE md
$MAILDIRMAKE -q 60S md
$MAILDIRMAKE -f Work md
$MAILDIRMAKE -f Other md
printf 'Subject: x\n\n%030d\n' 0 | $DELIVERQUOTA md
MAILDIR=md $IMAPD <<'IMAP'
a STATUS INBOX.Nope (MESSAGES)
b SELECT INBOX.Nope
c EXAMINE INBOX.Nope
d DELETE INBOX.Nope
e STATUS INBOX.Work.Deeper (MESSAGES UNSEEN)
f SELECT INBOX.Work.Deeper
g DELETE INBOX.Work.Deeper
h RENAME INBOX.Work INBOX.Other
i STATUS Nope (MESSAGES)
j SELECT Nope
k APPEND INBOX.Nope {10}
Subject: y
l SELECT INBOX
m COPY 1 INBOX.Nope
n UID COPY 1 INBOX.Nope
o COPY 1 INBOX.Work
p EXAMINE INBOX.Nope
q STATUS INBOX (MESSAGES)
r SELECT INBOX.Work
s DELETE INBOX.Work
z LOGOUT
IMAP
ls -A md | grep '^\.' | sort
