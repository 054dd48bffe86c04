# IMAP_MOVE_EXPUNGE_TO_TRASH=1: EXPUNGE, UID EXPUNGE and CLOSE first copy the \Deleted
# messages to INBOX.Trash, which is created when missing (as Courier does); expunging in Trash
# itself removes them for good. (Where Trash cannot be written at all, Courier expunges anyway
# and the mail is lost; we answer NO and expunge nothing: see internal/imap/server tests.)
settle() { local d=$1 i=0 f s; for f in $(ls -tr "$d/new"); do i=$((i+1)); s=${f##*,S=}
  mv "$d/new/$f" "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; touch -d @$((1600000000+i)) "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; done; }
$MAILDIRMAKE md
for i in 1 2 3 4 5; do printf 'Subject: message %s\n\nbody %s\n' $i $i | $DELIVERQUOTA md; sleep 0.02; done
settle md
IMAP_MOVE_EXPUNGE_TO_TRASH=1 MAILDIR=md $IMAPD <<'IMAP'
a SELECT INBOX
b STORE 1,3 +FLAGS (\Deleted \Seen)
c EXPUNGE
d STATUS INBOX.Trash (MESSAGES UNSEEN UIDNEXT)
e UID STORE 4 +FLAGS (\Deleted)
f UID EXPUNGE 2:4
g STORE 1 +FLAGS (\Deleted)
h CLOSE
i SELECT INBOX.Trash
j FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])
k STORE 1 +FLAGS (\Deleted)
l EXPUNGE
m STATUS INBOX (MESSAGES)
z LOGOUT
IMAP
echo "Trash holds $(ls md/.Trash/cur | wc -l); INBOX holds $(ls md/cur | wc -l)"
