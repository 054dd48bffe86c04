# maildropfilter(7) constructs no other scenario runs: its own examples (the lookup file
# badto.dat, the escape() check of From: in Subject:, the ADDRLIST foreach over getaddr, import,
# the SAVEDEFAULT dance), quoting rules (single quotes, concatenation, \$, ${name}, a quoted
# variable name, a string continued with a backslash, comments and ';'), KEYWORDS, UMASK,
# forwarding with "!", dotlock and flock blocks, assignments inside parentheses, POSIX
# classes in patterns, and patterns PCRE refuses.
$MAILDIRMAKE md
# The envelope sender given to SENDMAIL with -f is masked: Debian's maildrop always passes an
# empty one (-f ''), which would lose every bounce of forwarded mail; ours passes $FROM, the
# message's envelope sender, which forwarding keeps (RFC 5321, 3.9.1: an alias leaves the
# reverse-path unchanged). maildropfilter(7) itself only promises the addresses as arguments.
cat > sendmail <<'EOF'
#!/bin/sh
args=
while [ $# -gt 0 ]; do
  case $1 in -f) args="$args -f SENDER"; shift ;; *) args="$args $1" ;; esac
  shift
done
{ echo "sendmail [$args ]"; sed 's/^/| /'; } >> sent.log
EOF
chmod 755 sendmail
printf 'friend@public\n# a comment\n\n   ^[^@]*$\n' > badto.dat
cat > rc1 <<'RC'
DEFAULT="./md"
if ( /^To:\s*(.*)/ && lookup( $MATCH1, "badto.dat" ))
{
    echo "dropped: $MATCH1"
    exit
}
if ( /^From:\s*(.*)/ )
{
   MATCH1=escape($MATCH1)
   if ( /^Subject:.*$MATCH1/ )
   {
      echo "From: is in Subject:"
   }
}
ADDRLIST=""
foreach /^(To|Cc): .*/
{
    foreach (getaddr $MATCH) =~ /.+/
    {
        ADDRLIST="$ADDRLIST $MATCH"
    }
}
echo "ADDRLIST=[$ADDRLIST]"
X=lookup("FRIEND@PUBLIC", "badto.dat", "D")
Y=lookup("FRIEND@PUBLIC", "badto.dat")
echo "lookup with D: $X without: $Y"
RC
chmod 600 rc1
for m in 'To: friend@public\nFrom: a@b\nSubject: x\n\nb\n' 'To: nobody\nFrom: a@b\nSubject: x\n\nb\n' \
         'To: "J" <j@x>, k@y (K)\nCc: l@z\nFrom: c++@x.org\nSubject: about c++@x.org\n\nb\n' \
         'To: j@x\nFrom: a.b@x\nSubject: about aXb@x\n\nb\n'; do
  printf "$m" | $MAILDROP ./rc1; echo "rc1 exit $?"
done
printf 'X=lookup("a", "nofile")\necho "X=$X"\nexit\n' > rc1b; chmod 600 rc1b
printf 'S: x\n\nb\n' | $MAILDROP ./rc1b 2>/dev/null; echo "lookup without its file: exit $?"

cat > rc2 <<'RC'
FOOBAR="Foo"'bar'
echo $FOOBAR
A='no $FOOBAR here\' ok'
echo "$A"
B="\$FOOBAR \"q\" \\ \x ${FOOBAR}s $ $1 ${UNSET}."
echo "$B"
TEXT="This is a long \
      text string"
echo "$TEXT"
"odd-name"=1; echo "odd ${odd-name}" # a comment after ';'
U=a/b.c:d@e-f_g${FOOBAR}
echo $U
P=/var/mail
echo "$P"
Q=10 / 2
echo "Q=$Q"
echo "PATH is $PATH"
PATH="/bin"
echo "PATH is $PATH"
import PATH
echo "PATH is $PATH"
SAVEDEFAULT=$DEFAULT
import DEFAULT
LOCALDEFAULT=$DEFAULT
DEFAULT=$SAVEDEFAULT
echo "LOCALDEFAULT=$LOCALDEFAULT DEFAULT=$DEFAULT"
X=(N=2) * 3; echo "X=$X N=$N"
if ((M=length("abc")) == 3)
  echo "M=$M"
exit
RC
chmod 600 rc2
printf 'S: x\n\nb\n' | DEFAULT=envdefault PATH=/usr/bin:/bin $MAILDROP ./rc2 one; echo "rc2 exit $?"

cat > rc3 <<'RC'
DEFAULT="./md"
SENDMAIL="./sendmail -oi"
KEYWORDS="Junk,\$Label1,bad keyword"
FLAGS="SF"
cc "./md"
KEYWORDS=""
FLAGS=""
UMASK="027"
cc "./mbox"
UMASK="077"
cc "! one@example.com  two@example.com"
dotlock "d.lock" {
  echo "in dotlock: " `test -f d.lock && echo held`
  flock "f.lock" {
    echo "in flock"
  }
}
echo "after locks: " `ls d.lock 2>&1 | sed 's/.*: //'`
to "!three@example.com"
RC
chmod 600 rc3
printf 'From: a@b\nSubject: k\n\nbody\n' | $MAILDROP -f sender@x ./rc3; echo "rc3 exit $?"
# the flags are printed sorted: Debian's maildrop writes them in FLAGS' order (":2,SF"), but
# maildir(5) wants them in ASCII order, as ours writes them (":2,FS")
echo "flags $(ls md/cur | sed 's/.*:2,//' | fold -w1 | sort | tr -d '\n')"
cat md/courierimapkeywords/* 2>/dev/null | sed -n '/^$/,$p' | grep -v '^$' | sed 's/^[^ ]*:/msg:/'
ls -l mbox | cut -c1-10
cat sent.log

cat > rc4 <<'RC'
X=(/^Subject: [[:alpha:]]+ [[:digit:]]{2}[[:^alnum:]]/)
echo "X=$X M=$MATCH"
X=("a_1 B-2" =~ /[[:word:]]+/)
echo "X=$X M=$MATCH"
X=("tab	here" =~ /[[:blank:]][[:lower:]]+/)
echo "X=$X M=[$MATCH]"
X=("x]y" =~ /[]]y/)
echo "X=$X M=$MATCH"
X=(/^Subject:.*[:wbreak:]test[:wbreak:]/)
echo "old syntax X=$X"
X=(/[[:nosuch:]]/)
echo "unknown class X=$X"
X=(/(unclosed/:b,2)
echo "bad weighted X=$X"
foreach /[/
{
  echo "never"
}
if (/^Subject: test/)
  echo "later patterns still match"
exit
RC
chmod 600 rc4
printf 'Subject: test 42!\n\nb\n' | $MAILDROP ./rc4 2>/dev/null; echo "rc4 exit $?"
