# maildrop statements: if/elsif/else, nested if without braces, while, include, exception,
# cc and to into maildirs and an mbox, FLAGS, logfile and log, backticks and RETURNCODE,
# system, xfilter, exit with EXITCODE, pipes and their exit codes, and syntax errors.
$MAILDIRMAKE md
$MAILDIRMAKE -f Sub md
printf 'echo "in include $X"\nX=inc\n' > inc1
cat > rc <<'RC'
logfile "log1"
log "hello\tlog"
X=main
include "inc1"
echo "X=$X"
I=0
while ($I < 3)
{
  I=$I+1
  echo "I=$I"
}
if (0)
{
  echo "no"
}
elsif ($I == 3)
{
  echo "elsif"
}
else
{
  echo "else"
}
if (1)
  if (0)
    echo a
  else
    echo b
FLAGS="FS"
cc "md/.Sub"
echo "after cc EXITCODE=$EXITCODE"
FLAGS=""
cc "mb"
K=`echo hi; echo there`
echo "K=[$K] RC=$RETURNCODE"
K=`exit 3`
echo "K=[$K] RC=$RETURNCODE"
system "echo from system; exit 4"
echo "RC=$RETURNCODE"
xfilter "sed s/hello/HELLO/"
echo "RC=$RETURNCODE"
if (/HELLO/)
  echo "xfilter changed the message"
exception {
  include "nonexistent"
}
echo "after exception"
EXITCODE=7
to "md"
echo "not reached"
RC
chmod 600 rc
printf 'From: a@b\nSubject: hello\n\nFrom the start\nbody\n' | $MAILDROP ./rc; echo "exit $?"
grep -v '^Date:' log1
sed 's/^From MAILER-DAEMON .*/From MAILER-DAEMON DATE/' mb
for d in md md/.Sub; do echo "$d: new $(ls $d/new | wc -l) cur $(ls $d/cur | wc -l) $(ls $d/cur | sed 's/.*:2,/flags /')"; done
printf 'EXITCODE=3\nexit\n' > rc3; chmod 600 rc3
printf 'S: x\n\nb\n' | $MAILDROP ./rc3; echo "exit $?"
printf 'to "| cat; exit 5"\necho after\n' > rc4; chmod 600 rc4
printf 'S: x\n\nb\n' | $MAILDROP ./rc4; echo "exit $?"
printf 'cc "| cat >/dev/null; exit 5"\necho after $EXITCODE\nexit\n' > rc5; chmod 600 rc5
printf 'S: x\n\nb\n' | $MAILDROP ./rc5; echo "exit $?"
printf 'xfilter "exit 1"\necho after\n' > rc6; chmod 600 rc6
printf 'S: x\n\nb\n' | $MAILDROP ./rc6; echo "exit $?"
printf 'include "nonexistent"\necho after\n' > rc7; chmod 600 rc7
printf 'S: x\n\nb\n' | $MAILDROP ./rc7; echo "exit $?"
for bad in 'if (1) {\necho a\n}' 'if (1)\n{\necho a }' 'if (0)\n{\necho a\n}\n\nelse\n{\necho b\n}' 'X=- 3' 'echo "unterminated' 'if (1\necho x' 'X=(/x/' 'foo = (1 < 2 < 3)'; do
  printf "echo before\n$bad\n" > bad; chmod 600 bad
  printf 'S: x\n\nb\n' | $MAILDROP ./bad; echo "exit $?"
done
printf 'S: x\n\nb\n' | $MAILDROP ./missing-file; echo "exit $?"
printf 'S: x\n\nb\n' | $MAILDROP -Z ./rc3; echo "exit $?"
