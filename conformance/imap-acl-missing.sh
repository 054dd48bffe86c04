# ACL commands (GETACL, MYRIGHTS, LISTRIGHTS, SETACL, DELETEACL) on a folder that does not
# exist answer NO, as Courier; existing folders and INBOX answer as usual.
$MAILDIRMAKE md
$MAILDIRMAKE -f Work md
MAILDIR=md IMAP_ACL=1 $IMAPD <<'IMAP'
a GETACL INBOX.Nope
b MYRIGHTS INBOX.Nope
c LISTRIGHTS INBOX.Nope anyone
d SETACL INBOX.Nope anyone lr
e DELETEACL INBOX.Nope anyone
f GETACL INBOX.Work
g MYRIGHTS INBOX.Work
h GETACL INBOX
z LOGOUT
IMAP
ls -A md | grep '^\.' | sort
