# IMAP STATUS of a folder that is not selected leaves it as it is (RFC 3501 §6.3.10): the
# messages waiting in new/ count as RECENT and UNSEEN and stay \Recent for the SELECT that
# follows, however often STATUS (or LIST-less polling clients) looked; UIDNEXT counts the UIDs
# that SELECT will hand out. Then RFC822.SIZE (the size with CRLF line ends, which the
# ,S= field of the LF file does not give) and STATUS of the selected folder.
settle() { local d=$1 i=${2:-0} f s; for f in $(ls -tr "$d/new"); do i=$((i+1)); s=${f##*,S=}
  mv "$d/new/$f" "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; touch -d @$((1600000000+i)) "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; done; }
$MAILDIRMAKE md
$MAILDIRMAKE -f Work md
for i in 1 2 3; do printf 'Subject: work %s\n\nline one\nline two of %s\n' $i $i | $DELIVERQUOTA md/.Work; sleep 0.02; done
settle md/.Work
for i in 1 2; do printf 'Subject: inbox %s\n\nbody %s\n' $i $i | $DELIVERQUOTA md; sleep 0.02; done
settle md
MAILDIR=md $IMAPD <<'IMAP'
a STATUS INBOX.Work (MESSAGES RECENT UIDNEXT UNSEEN)
b STATUS INBOX.Work (MESSAGES RECENT UIDNEXT UNSEEN)
c STATUS INBOX (MESSAGES RECENT UNSEEN)
d SELECT INBOX.Work
e FETCH 1:* (UID FLAGS RFC822.SIZE)
f STORE 1 +FLAGS (\Seen)
g STATUS INBOX.Work (MESSAGES RECENT UIDNEXT UNSEEN)
h SELECT INBOX
i UID FETCH 1:* (RFC822.SIZE FLAGS)
z LOGOUT
IMAP
# Two more arrive while nobody has the folder open; a new session counts them, then takes them.
for i in 4 5; do printf 'Subject: work %s\n\nmore\n' $i | $DELIVERQUOTA md/.Work; sleep 0.02; done
settle md/.Work 3
MAILDIR=md $IMAPD <<'IMAP'
a STATUS INBOX.Work (RECENT UNSEEN MESSAGES UIDNEXT)
b STATUS INBOX (MESSAGES RECENT UNSEEN UIDNEXT)
c SELECT INBOX.Work
d FETCH 1:* (UID FLAGS RFC822.SIZE)
e STATUS INBOX.Work (MESSAGES RECENT UNSEEN)
z LOGOUT
IMAP
