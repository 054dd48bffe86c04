# IMAP_EMPTYTRASH as Courier's imapd reads it, which never refuses it: a bare number is the
# days for the trash folder (IMAP_TRASHFOLDERNAME), a list is FOLDER:DAYS separated by commas
# ("Trash:7,Sent:30"); entries without ':' are skipped and days that are not a number, or
# 0, mean one day. Every session starts and keeps the messages put there just now (the purge
# of old ones, which needs ctimes days old, is tested in internal/imap/server).
$MAILDIRMAKE md
for f in Trash Sent Deleted; do $MAILDIRMAKE -f $f md
  printf 'Subject: in %s\n\nbody\n' $f | $DELIVERQUOTA md/.$f; done
for v in 7 Trash:7,Sent:30 0 x Trash,Sent:x ,,Sent:1, Trash:0,Sent; do
  echo "IMAP_EMPTYTRASH=$v"
  IMAP_EMPTYTRASH=$v MAILDIR=md $IMAPD <<'IMAP'
a STATUS INBOX.Trash (MESSAGES)
b STATUS INBOX.Sent (MESSAGES)
z LOGOUT
IMAP
done
IMAP_TRASHFOLDERNAME=Deleted IMAP_EMPTYTRASH=3 MAILDIR=md $IMAPD <<'IMAP'
a STATUS INBOX.Deleted (MESSAGES)
b SELECT INBOX.Deleted
z LOGOUT
IMAP
echo "left: $(ls md/.Trash/new md/.Trash/cur md/.Sent/new md/.Sent/cur md/.Deleted/new md/.Deleted/cur | grep -c ,S=)"
