# IMAP_EMPTYTRASH=Trash:7 purges, when a session starts, the messages put into Trash more than
# seven days ago. Age goes by when a message was put there (its file's ctime), not by its
# internal date: a message received a month ago and deleted today stays its seven days
# (a purge by internal date would lose it at once). The purge itself, which needs files whose
# ctime is days old, is tested in internal/imap/server with a clock moved on.
$MAILDIRMAKE md
$MAILDIRMAKE -f Trash md
$MAILDIRMAKE -f Old md
for i in 1 2 3; do printf 'Subject: trash %s\n\nbody %s\n' $i $i | $DELIVERQUOTA md/.Trash; sleep 0.02; done
for i in 1 2; do printf 'Subject: old %s\n\nbody %s\n' $i $i | $DELIVERQUOTA md/.Old; sleep 0.02; done
MAILDIR=md $IMAPD <<'IMAP'
a SELECT INBOX.Trash
b SELECT INBOX.Old
z LOGOUT
IMAP
# Internal dates a month back (touch sets the mtime; the ctime becomes now).
touch -d '30 days ago' md/.Trash/cur/* md/.Old/cur/*
printf 'Subject: trash 4\n\nbody 4\n' | $DELIVERQUOTA md/.Trash
IMAP_EMPTYTRASH=Trash:7,Old:1 MAILDIR=md $IMAPD <<'IMAP'
a STATUS INBOX.Trash (MESSAGES RECENT UNSEEN UIDNEXT)
b STATUS INBOX.Old (MESSAGES RECENT UNSEEN UIDNEXT)
c SELECT INBOX.Trash
d FETCH 1:* (UID FLAGS INTERNALDATE)
z LOGOUT
IMAP
echo "Trash holds $(ls md/.Trash/new md/.Trash/cur | grep -c ,S=); Old holds $(ls md/.Old/new md/.Old/cur | grep -c ,S=)"
