# The two vacation recipes of maildropex(7) (a list of senders kept with fgrep under flock, and
# a GDBM database of reply times with a one-week limit), run as written except for the sandbox:
# PATH starts with ./bin, SENDMAIL is a stub that records its arguments and standard input, and
# DEFAULT is a local maildir. ./bin/reformail runs the real reformail ($REFORMAIL), except in
# the runs marked "emulated": the recipes call "reformail -r -t", which Courier moved into
# mailbot (reformail(1), AUTOREPLIES), so the real one refuses it and maildrop stops with
# EX_TEMPFAIL after the cc; the emulation writes the To: and Subject: of a reply so that the
# rest of each recipe runs. Each gets first and repeated senders, differently spelled
# addresses, Reply-To, and (for GDBM) replies older and newer than a week.
$MAILDIRMAKE md
mkdir bin
cat > bin/reformail <<'EOF'
#!/bin/sh
if [ "$*" = "-r -t" ] && [ -f emulate ]; then
  # the reply's To: is the Reply-To: or else the From: address; Subject: gets "Re: "
  awk 'BEGIN { IGNORECASE = 1 }
       /^$/ { exit }
       /^[ \t]/ { v[h] = v[h] " " substr($0, 2); next }
       { h = tolower(substr($0, 1, index($0, ":") - 1)); v[h] = substr($0, index($0, ":") + 2) }
       END { print "To: " (("reply-to" in v) ? v["reply-to"] : v["from"]); print "Subject: Re: " v["subject"] }'
  exit 0
fi
exec $REFORMAIL "$@"
EOF
chmod 755 bin/reformail
cat > sendmail <<'EOF'
#!/bin/sh
{ echo "sendmail $*"; sed 's/^/| /'; echo "."; } >> sent.log
EOF
chmod 755 sendmail
printf 'I am on vacation until Monday.\n' > vacation.msg
subjects() { grep -h '^Subject:' md/new/* 2>/dev/null | sort; echo "[md: $(ls md/new | wc -l) messages]"; }
sent() { [ -f sent.log ] && cat sent.log || echo "(nothing sent)"; rm -f sent.log; }
run() { # run RC MESSAGE [ARGS...]
  local rc=$1 m=$2; shift 2
  printf '%b' "$m" | $MAILDROP ./$rc "$@"; echo "$rc exit $?"
}
prologue='DEFAULT="./md"
SENDMAIL="./sendmail"
PATH="./bin:$PATH"
'

echo "=== 7: vacation.lst"
{ printf '%s' "$prologue"; cat <<'RC'; } > rc7
cc $DEFAULT
xfilter "reformail -r -t"
/^To:.*/
getaddr($MATCH) =~ /^.*/;

MATCH=tolower($MATCH)
flock "vacation.lock" {
        `fgrep -iqx "$MATCH" vacation.lst 2>/dev/null || { \
                  echo "$MATCH" >>vacation.lst ; \
                  exit 1 ; \
              } `
}
if ( $RETURNCODE == 0 )
   exit
to "| ( cat - ; echo ''; cat vacation.msg) | $SENDMAIL"
RC
chmod 600 rc7
run rc7 'From: Joe Brown <Joe@Example.COM>\nTo: me@here\nSubject: v0\n\nreformail -r -t refused\n'
subjects; sent
touch emulate
run rc7 'From: Joe Brown <Joe@Example.COM>\nTo: me@here\nSubject: v1\nMessage-ID: <v1@example.com>\n\nfirst\n'
run rc7 'From: joe@example.com\nTo: me@here\nSubject: v2\n\nsame sender, other spelling\n'
run rc7 'From: ann@example.org (Ann)\nReply-To: "Ann S." <ann.s@example.org>\nTo: me@here\nSubject: v3\n\nreply-to\n'
run rc7 'From: ann@example.org (Ann)\nTo: me@here\nSubject: v4\n\nfrom the From address\n'
run rc7 'From: ann@example.org\nReply-To: ANN.S@example.org\nTo: me@here\nSubject: v5\n\nreply-to again\n'
run rc7 'From: "Smith, J" <j.smith@example.net>, other@example.net\nTo: me@here\nSubject: v6\n\ntwo senders\n'
subjects; sent
cat vacation.lst
ls vacation.lock >/dev/null && echo "vacation.lock is left (flock's file)"

echo "=== 8: vacation.dat with gdbm"
rm -rf md emulate; $MAILDIRMAKE md
{ printf '%s' "$prologue"; cat <<'RC'; } > rc8
cc $DEFAULT
xfilter "reformail -r -t"
/^To:.*/
getaddr($MATCH) =~ /^.*/;
MATCH=tolower($MATCH)
flock "vacation.lock" {
    current_time=time;
    if (gdbmopen("vacation.dat", "C") == 0)
    {
       if ( (prev_time=gdbmfetch($MATCH)) ne "" && \
             $prev_time >= $current_time - 60 * 60 * 24 * 7)
       {
           exit
       }
       gdbmstore($MATCH, $current_time)
       gdbmclose
    }
}
to "| ( cat - ; echo ''; cat vacation.msg) | $SENDMAIL"
RC
chmod 600 rc8
# sets the reply time of address $1 to $2 days ago
cat > age <<'RC'
if (gdbmopen("vacation.dat", "W") == 0)
{
  T=time - 60 * 60 * 24 * $2
  gdbmstore($1, $T)
  if (gdbmfetch($1) == $T)
    echo "stored $1 $2 days ago"
  gdbmclose
}
exit
RC
chmod 600 age
run rc8 'From: Joe Brown <Joe@Example.COM>\nTo: me@here\nSubject: g0\n\nreformail -r -t refused\n'
subjects; sent
touch emulate
run rc8 'From: Joe Brown <Joe@Example.COM>\nTo: me@here\nSubject: g1\n\nfirst\n'
run rc8 'From: joe@example.com\nTo: me@here\nSubject: g2\n\nrepeat within the week\n'
run age 'x\n' joe@example.com 6
run rc8 'From: joe@example.com\nTo: me@here\nSubject: g3\n\nsix days later\n'
run age 'x\n' joe@example.com 8
run rc8 'From: joe@example.com\nTo: me@here\nSubject: g4\n\neight days later\n'
run rc8 'From: joe@example.com\nTo: me@here\nSubject: g5\n\nright after\n'
run rc8 'From: <bob@example.net>\nTo: me@here\nSubject: g6\n\nanother sender\n'
subjects; sent
ls vacation.dat >/dev/null && echo "vacation.dat exists"
