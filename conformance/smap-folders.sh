# Courier's SMAP protocol: folder paths (escaped levels such as "..", "x/y", "a:b"), LIST, STATUS,
# CREATE/MKDIR/RMDIR/DELETE/RENAME, COPY and MOVE between folders, GETACL/ACL/SETACL/DELETEACL.
settle() { local d=${1:-md} i=0 f s; for f in $(ls -tr "$d/new"); do i=$((i+1)); s=${f##*,S=}
  mv "$d/new/$f" "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; touch -d @$((1600000000+i)) "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; done; }
$MAILDIRMAKE md
for i in 1 2 3; do
  printf 'Subject: folders %s\n\nbody %s\n' "$i" "$i" | $DELIVERQUOTA md
done
settle md
MAILDIR=md PROTOCOL=SMAP1 $IMAPD <<'SMAP'
CREATE INBOX a
CREATE INBOX a b
MKDIR INBOX c
LIST
LIST INBOX
LIST INBOX a
CREATE INBOX a
CREATE INBOX ..
CREATE INBOX x/y
CREATE INBOX "a:b"
CREATE INBOX ""
CREATE Foo
LIST INBOX
OPEN INBOX x/y
OPEN INBOX nope
OPEN foo
STATUS FULL INBOX a
STATUS FULL INBOX zz
RENAME INBOX a "" INBOX z
LIST INBOX z
DELETE INBOX z
DELETE INBOX
RMDIR INBOX c
OPEN INBOX
COPY 1-2 "" INBOX ..
MOVE 3 "" INBOX ..
FETCH 1-3 FLAGS
COPY 1 INBOX
STATUS FULL INBOX ..
OPEN INBOX ..
FETCH 1-3 FLAGS SIZE
GETACL INBOX
ACL INBOX
SETACL INBOX .. "" user=bob +lr anyone l
SETACL INBOX .. "" owner -a
DELETEACL INBOX .. "" anyone
GETACL INBOX ..
LOGOUT
SMAP
