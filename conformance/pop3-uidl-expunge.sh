# POP3 UIDLs across sessions, as courierpop3dsizelist keeps them: messages deleted by another
# program between sessions, new ones arriving (one whose name sorts before the others), a
# flag change by another program (the UID stays), a file vanishing during a session, DELE at
# QUIT, and an old "/2" list. The list itself is shown with its UIDVALIDITY masked.
settle() { local d=${1:-md} f s; for f in $(ls -tr "$d/new"); do N=$((N+1)); s=${f##*,S=}
  mv "$d/new/$f" "$d/new/$((1600000000+N)).M${N}P1.test,S=$s"; done; }
msg() { printf 'From: a%s@example.org\nSubject: msg %s\n\nbody of %s\n' "$1" "$1" "$1" | $DELIVERQUOTA "${2:-md}"; }
sizelist() { sed -E 's/^(\/[23] [0-9]+) [0-9]+$/\1 N/; s/ ([0-9]+):[0-9]+(:[01])?$/ \1:N\2/' "${1:-md}/courierpop3dsizelist"; }
N=0
$MAILDIRMAKE md
msg 1; msg 2; msg 3; settle
echo "== session 1"
$POP3D md <<'POP'
UIDL
QUIT
POP
sizelist
rm md/cur/1600000002.*
msg 4; msg 5; settle
echo "== session 2: 2 gone, 4 and 5 new"
$POP3D md <<'POP'
STAT
UIDL
LIST
QUIT
POP
sizelist
for f in md/cur/1600000003.*; do mv "$f" "${f%%:2,*}:2,FS"; done
echo "== session 3: 3 flagged elsewhere; RETR 1, DELE 2"
$POP3D md <<'POP'
UIDL
RETR 1
DELE 2
UIDL
QUIT
POP
sizelist
printf 'Subject: early\n\nearly bird\n' > md/new/1500000000.M0P1.test
echo "== session 4: a message whose name sorts first"
$POP3D md <<'POP'
UIDL
LIST
POP
sizelist
echo "== session 5: a message vanishes during the session"
{ printf 'UIDL\r\n'; sleep 1; rm md/cur/1600000004.*; printf 'RETR 3\r\nTOP 3 0\r\nDELE 3\r\nUIDL 3\r\nSTAT\r\nQUIT\r\n'; } | $POP3D md
sizelist
echo "== session 6: everything deleted"
$POP3D md <<'POP'
DELE 1
DELE 2
DELE 3
STAT
QUIT
POP
sizelist
msg 6; settle
echo "== session 7: after an empty maildrop"
$POP3D md <<'POP'
UIDL
QUIT
POP
sizelist
ls md/cur md/new
echo "== an old /2 list"
$MAILDIRMAKE md2
msg 7 md2; msg 8 md2; settle md2
$POP3D md2 <<'POP'
QUIT
POP
{ echo "/2 17 12345"; for f in $(ls md2/cur); do echo "$f 40 $((N+=1)):12345"; done; } > md2/courierpop3dsizelist
sizelist md2
$POP3D md2 <<'POP'
UIDL
LIST
POP
sizelist md2
echo "== a corrupt list"
echo garbage > md2/courierpop3dsizelist
$POP3D md2 <<'POP'
UIDL
POP
sizelist md2
