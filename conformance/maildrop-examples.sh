# The example recipes of maildropex(7), each run as written except for what the sandbox needs:
# mailboxes under this folder, DEFAULT set to a local maildir, SENDMAIL and the 'archive' program
# replaced by stubs that record their arguments and standard input, and reformail reached as
# $REFORMAIL. Each example gets messages that take every branch; the scenario prints the
# exit codes, what was delivered where, and what the stubs saw.
$MAILDIRMAKE md
mkdir Mail
cat > sendmail <<'EOF'
#!/bin/sh
{ echo "sendmail $*"; sed 's/^/| /'; echo "."; } >> sent.log
EOF
chmod 755 sendmail
# prints every message of an mbox, the From_ line's date blanked
mbox() { [ -f "$1" ] && sed -E 's/^(From [^ ]*) .*/\1 DATE/' "$1" || echo "($1 missing)"; }
# prints every message of a maildir's new/ and cur/ in delivery order (the names start with
# the time and then M and the microseconds)
maildir() {
  local f n=0
  for f in $(cd "$1" && ls new cur | grep -v ':$' | grep . | sort -t. -k1,1n -k2.2n); do
    n=$((n+1)); f=$(cd "$1" && ls -d new/$f cur/$f 2>/dev/null)
    case $f in cur/*) echo "[$1 #$n cur flags ${f##*:2,}]" ;; *) echo "[$1 #$n new]" ;; esac
    cat "$1/$f"
  done
  echo "[$1: $n messages]"
}
run() { # run RC MESSAGE [ARGS...]
  local rc=$1 m=$2; shift 2
  printf '%b' "$m" | $MAILDROP "$@" ./$rc; echo "$rc exit $?"
}
prologue='DEFAULT="./md"
SENDMAIL="./sendmail"
'

echo "=== 1: Delivered-To: auto list to Mail/auto"
{ printf '%s' "$prologue"; cat <<'RC'; } > rc1
if (/^Delivered-To: *auto@domain\.com$/)
    to Mail/auto
echo "not the auto list"
RC
chmod 600 rc1
run rc1 'Delivered-To: auto@domain.com\nSubject: a1\n\nlist mail\n'
run rc1 'Delivered-To:auto@DOMAIN.com\nSubject: a2\n\ncase and no space\n'
run rc1 'Delivered-To: auto@domain.com.evil\nSubject: a3\n\nlonger domain\n'
run rc1 'Delivered-To: auto@domainXcom\nSubject: a4\n\nescaped dot\n'
run rc1 'Subject: a5\n\nDelivered-To: auto@domain.com\n'
mbox Mail/auto
maildir md

echo "=== 2: boss and project status: cc to john, to Mail/project"
# [:wbreak:] is maildrop 1.x syntax: PCRE refuses a POSIX class outside brackets, so the
# pattern never matches (maildrop reports it on stderr and goes on) and all of this mail goes
# to DEFAULT.
rm -rf md; $MAILDIRMAKE md
{ printf '%s' "$prologue"; cat <<'RC'; } > rc2
if (/^From: *boss@domain\.com/ \
    && /^Subject:.*[:wbreak:]project status[:wbreak:]/)
{
    cc "!john"
    to Mail/project
}
RC
chmod 600 rc2
run rc2 'From: boss@domain.com\nSubject: the project status\n\nreport\n'
run rc2 'From: boss@domain.com\nSubject: project status\n\nreport\n'
run rc2 'From: boss@domain.com\nSubject: Re: project status: late\n\nreport\n'
run rc2 'From: boss@domain.com\nSubject: myproject statusbar\n\nreport\n'
run rc2 'From: boss@domain.com\nSubject: theproject status:\n\nreport\n'
run rc2 'From: boss@domain.com\nSubject: [project status]\n\nreport\n'
run rc2 'From: other@domain.com\nSubject: project status\n\nreport\n'
run rc2 'From: boss@domain.com\nSubject: lunch\n\nreport\n'
mbox Mail/project
cat sent.log 2>/dev/null; rm -f sent.log
maildir md

echo "=== 3: keep the last 50 messages in the maildir backup"
rm -rf md; $MAILDIRMAKE md; $MAILDIRMAKE backup
{ printf '%s' "$prologue"; cat <<'RC'; } > rc3
cc backup
`cd backup/new && rm -f dummy \`ls -t | sed -e 1,50d\``
echo "RETURNCODE=$RETURNCODE"
RC
chmod 600 rc3
for i in $(seq 1 53); do
  printf 'Subject: b%s\n\nbackup %s\n' $i $i | $MAILDROP ./rc3 > out3; echo "rc3 $i exit $? $(sort -u out3) backup $(ls backup/new | wc -l) md $(ls md/new | wc -l)"
done | sed -n '1,2p;49,53p'
# the newest 50 are kept: b4 to b53
cat backup/new/* | grep '^Subject:' | sort -t b -k 2 -n | sed -n '1p;$p'

echo "=== 4: messages of at least about 100 lines to Mail/IN.Large"
rm -rf md; $MAILDIRMAKE md
{ printf '%s' "$prologue"; cat <<'RC'; } > rc4
echo "LINES=$LINES SIZE=$SIZE"
 if ( $LINES > 100 )
    to Mail/IN.Large
RC
chmod 600 rc4
for n in 95 97 98 99 100 101 150; do
  { printf 'Subject: %s body lines\n\n' $n; seq 1 $n; } | $MAILDROP ./rc4; echo "rc4 $n exit $?"
done
{ printf 'Subject: no newline at the end\n\n'; seq 1 98 | head -c -1; } | $MAILDROP ./rc4; echo "rc4 exit $?"
{ printf 'Subject: no newline at the end\n\n'; seq 1 99 | head -c -1; } | $MAILDROP ./rc4; echo "rc4 exit $?"
{ printf 'Subject: headers only\n'; seq 1 120 | sed 's/^/X-H: /'; } | $MAILDROP ./rc4; echo "rc4 exit $?"
grep '^Subject:' Mail/IN.Large
grep -h '^Subject:' md/new/* | sort

echo "=== 5: the auto list to the archive program under a dot-lock"
rm -rf md; $MAILDIRMAKE md
cat > archive <<'EOF'
#!/bin/sh
# records the message and whether the dot-lock is held, exits with the code in archive.code
{ echo "archive: lock $(test -f auto.lock && echo held || echo free) args [$*]"; sed 's/^/| /'; } >> archive.log
exit $(cat archive.code 2>/dev/null || echo 0)
EOF
chmod 755 archive
{ printf '%s' "$prologue"; cat <<'RC'; } > rc5
 if (/^Delivered-To: *auto@domain\.com$/)
    dotlock "auto.lock" {

       to "|./archive"
    }
RC
chmod 600 rc5
run rc5 'Delivered-To: auto@domain.com\nSubject: c1\n\nto archive\n'
echo 3 > archive.code
run rc5 'Delivered-To: auto@domain.com\nSubject: c2\n\narchive fails\n'
run rc5 'Subject: c3\n\nnot the list\n'
ls auto.lock 2>&1 | sed 's/^.*: //'
cat archive.log
maildir md

echo "=== 6: duplicate Message-IDs dropped with reformail -D"
rm -rf md; $MAILDIRMAKE md
{ printf '%s' "$prologue"; cat <<'RC'; } > rc6
`$REFORMAIL -D 8000 duplicate.cache`
echo "RETURNCODE=$RETURNCODE"
if ( $RETURNCODE == 0 )
    exit
RC
chmod 600 rc6
run rc6 'Message-ID: <one@x>\nSubject: d1\n\nfirst\n'
run rc6 'Message-ID: <two@x>\nSubject: d2\n\nsecond\n'
run rc6 'Message-ID: <one@x>\nSubject: d3\n\nrepeat of the first\n'
run rc6 'Message-Id:   <two@x>\nSubject: d4\n\nrepeat, other spelling\n'
run rc6 'Subject: d5\n\nno Message-ID\n'
run rc6 'Subject: d6\n\nno Message-ID again\n'
maildir md
tr '\0' '\n' < duplicate.cache
