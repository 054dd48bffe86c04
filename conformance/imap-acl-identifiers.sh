# ACL identifiers over IMAP (RFC 4314 §2): SETACL and DELETEACL take a login name, which
# Courier stores as user=NAME (a leading "-" kept); GETACL shows user= entries by the bare
# name and leaves out other kinds (group=); "d" stands for e, t and x only all together.
$MAILDIRMAKE md
$MAILDIRMAKE -f A md
$MAILDIRACL -set md INBOX.A group=staff lr
MAILDIR=md IMAP_ACL=1 $IMAPD <<'IMAP'
a SETACL INBOX.A bob lrswite
b SETACL INBOX.A -carol r
c GETACL INBOX.A
d DELETEACL INBOX.A bob
e GETACL INBOX.A
IMAP
cat md/.A/courierimapacl
