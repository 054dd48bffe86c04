# SMAP gives a message one UID: the name of its file without the flags. ADD prints the stored
# file's name ("* ADD "UID=…""), COPY and MOVE the new files' ("* COPY n "NEWUID=…""; a move
# keeps the name), and a later FETCH UID of those messages shows the same names. The names
# hold a time and a process id, so this prints how each printed UID relates to the files
# and to FETCH rather than the UIDs themselves. (The move comes first: Courier numbers the
# messages a folder gets by their file names when it is opened, so a moved message with an
# older name would come before copies made earlier.)
settle() { local d=${1:-md} i=0 f s; for f in $(ls -tr "$d/new"); do i=$((i+1)); s=${f##*,S=}
  mv "$d/new/$f" "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; touch -d @$((1600000000+i)) "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; done; }
$MAILDIRMAKE md
$MAILDIRMAKE -f Work md
for i in 1 2 3; do
  printf 'Subject: smap %s\nFrom: s%s@example.org\n\nsmap body %s\n' "$i" "$i" "$i" | $DELIVERQUOTA md
done
settle md
MAILDIR=md PROTOCOL=SMAP1 $IMAPD >out <<'SMAP'
OPEN INBOX
ADD FOLDER INBOX "" FLAGS=SEEN
ADD {.}
Subject: added to the open folder

added 1
.
NOOP
FETCH 4 UID FLAGS
MOVE 1 "" INBOX Work
COPY 1 "" INBOX Work
ADD FOLDER INBOX Work ""
ADD {.}
Subject: added to Work

added 2
.
OPEN INBOX Work
FETCH 1-3 UID
LOGOUT
SMAP
# (the names of the files made here, which hold the time, shown as <new>)
sed -E '/"UID=[0-9]+\.M[0-9]+P1\.test,/!s/"UID=[^"]*"/"UID=<new>"/' out
# Every UID ADD, COPY or MOVE printed names a file of the folder and is the UID FETCH shows.
files=$(ls md/cur md/new md/.Work/cur md/.Work/new | sed 's/:2,.*//')
fetched=$(sed -n 's/^\* FETCH [0-9]* .*"UID=\([^"]*\)".*/\1/p' out)
sed -n 's/^\* \(ADD\) "UID=\([^"]*\)"/\1 \2/p; s/^\* \(COPY [0-9]*\) "NEWUID=\([^"]*\)"/\1 \2/p' out |
while read -r what n uid; do
  [ "$what" = ADD ] && uid=$n && n=
  f=no; grep -qxF "$uid" <<<"$files" && f=yes
  g=no; grep -qxF "$uid" <<<"$fetched" && g=yes
  echo "$what $n: a file: $f; shown by FETCH: $g"
done
