# mailbot run from maildrop recipes: the vacation responder maildropex(7) recommends instead of
# its own vacation scripts (a reply database with -d and -D), and the "info" autoresponder of
# mailbot(1)'s SYNOPSIS. (Its other recipe, -T replydraft with -l, and the other -T formats
# are in mailbot-formats.sh.)
# Run as written except for the sandbox: PATH starts with ./bin, where 'mailbot' is the
# mailbot next to $MAILDROP, the mail program is a stub that records its arguments and
# standard input, and the files are under this folder. Dates and message IDs are blanked.
$MAILDIRMAKE Maildir
mkdir bin
case "$MAILDROP" in
  *" maildrop") printf '#!/bin/sh\nexec %s mailbot "$@"\n' "${MAILDROP% maildrop}" > bin/mailbot ;;
  *) printf '#!/bin/sh\nexec %s/mailbot "$@"\n' "$(dirname "$MAILDROP")" > bin/mailbot ;;
esac
chmod 755 bin/mailbot
cat > bin/sendmail <<'EOF'
#!/bin/sh
{ echo "sendmail [$*]"; sed 's/^/| /'; echo "."; } >> sent.log
EOF
chmod 755 bin/sendmail
subjects() { grep -h '^Subject:' Maildir/new/* 2>/dev/null | sort; echo "[Maildir: $(ls Maildir/new | wc -l) messages]"; }
sent() {
  [ -f sent.log ] && sed -E 's/^(\| (Date|Message-ID|Message-Id):).*/\1 -BLANKED-/' sent.log || echo "(nothing sent)"
  rm -f sent.log
}
run() { # run RC MESSAGE
  printf '%b' "$2" | $MAILDROP ./$1; echo "$1 exit $?"
}

echo "=== vacation with mailbot"
printf 'I am on vacation until Monday.\n' > vacation.msg
cat > rc1 <<'RC'
PATH="./bin:$PATH"
cc "./Maildir"
cc "| mailbot -t vacation.msg -d vacation.db -D 7 -A 'From: me@here' sendmail -f ''"
echo "mailbot EXITCODE=$EXITCODE"
EXITCODE=0
exit
RC
chmod 600 rc1
run rc1 'From: Joe Brown <joe@example.com>\nTo: me@here\nSubject: v1\nMessage-ID: <v1@example.com>\n\nfirst\n'
run rc1 'From: joe@example.com\nTo: me@here\nSubject: v2\n\nagain\n'
run rc1 'From: Ann <ann@example.org>\nReply-To: ann.s@example.org\nTo: me@here\nSubject: v3\n\nreply-to\n'
run rc1 'From: list@example.org\nTo: me@here\nPrecedence: bulk\nSubject: v4\n\nbulk\n'
run rc1 'From: list@example.org\nTo: me@here\nList-ID: <l.example.org>\nSubject: v5\n\na list\n'
run rc1 'From: news@example.org\nTo: me@here\nPrecedence: junk\nSubject: v6\n\njunk\n'
run rc1 'From: bounce@example.org\nTo: me@here\nSubject: v7\nMime-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n--b\nContent-Type: text/plain\n\nfailed\n--b--\n'
subjects; sent
ls vacation.db* >/dev/null 2>&1 && echo "vacation.db exists"

echo "=== info autoresponder (mailbot(1) SYNOPSIS)"
mkdir -p autoresponse
printf 'Our office is open 9 to 5.  \nCall us any time.\n' > autoresponse/info
cat > rc2 <<'RC'
PATH="./bin:$PATH"
DEFAULT="./Maildir"
if (/^Subject: *info/)
{
     cc "| mailbot -t ./autoresponse/info -d autoresponsedb \
            -A 'From: info@domain.com' sendmail -f ''"
}
RC
chmod 600 rc2
run rc2 'From: Joe Brown <joe@example.com>\nTo: info@domain.com\nSubject: info please\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n\nWhat are your hours?\n'
run rc2 'From: joe@example.com\nTo: info@domain.com\nSubject: info again\n\nrepeat\n'
run rc2 'From: ann@example.org\nTo: info@domain.com\nSubject:info\n\nno space\n'
run rc2 'From: ann@example.org\nTo: info@domain.com\nSubject: other\n\nnot info\n'
subjects; sent
