# maildrop's predefined variables in filter-file mode: FROM from -f or Return-Path, SIZE and
# LINES (with -A headers), the reset defaults, imported environment and import.
cat > rc <<'RC'
echo "FROM=$FROM SIZE=$SIZE LINES=$LINES"
echo "PATH=$PATH SHELLSET=${SHELL} LOCKEXT=$LOCKEXT UMASK=$UMASK"
echo "MAILDIRQUOTA=[$MAILDIRQUOTA] SENDMAIL=$SENDMAIL VERBOSE=[$VERBOSE] EXITCODE=[$EXITCODE]"
echo "MAILFILTER=$MAILFILTER 1=$1 2=$2 FOO=$FOO"
if (/^X-A: (.*)/)
  echo "A=$MATCH1"
PATH="/bin"
import PATH
echo "imported PATH=$PATH"
exit
RC
chmod 600 rc
printf 'Subject: hi\nReturn-Path: <a@b>\n\nbody\n' | FOO=bar PATH=/usr/bin:/bin $MAILDROP ./rc x y; echo "exit $?"
printf 'S: x\n\nb\n' | $MAILDROP -f snd@x -A 'X-A: hello' -A 'X-B: 2' ./rc; echo "exit $?"
printf 'S: x\n\nb\n' | $MAILDROP -f '' ./rc; echo "exit $?"
printf 'S: x\n\nb\n' | $MAILDROP -V 3 ./rc 2>/dev/null; echo "exit $?"
$MAILDIRMAKE md
printf 'DEFAULT="./md"\nMAILDIRQUOTA="1000S"\n' > rc2; chmod 600 rc2
printf 'S: x\n\nb\n' | $MAILDROP -A 'X-A: 1' ./rc2; echo "exit $?"
cat md/new/*; cat md/maildirsize
printf 'DEFAULT="./md"\nMAILDIRQUOTA="20S"\n' > rc3; chmod 600 rc3
printf 'S: x\n\n%0100d\n' 0 | $MAILDROP ./rc3 >/dev/null; echo "over quota: exit $?"
ls md/new | wc -l
