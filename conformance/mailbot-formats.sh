# mailbot's reply formats (-T reply, replyall, replydsn with -M, forward, forwardatt,
# feedback and replyfeedback with -R, replydraft with -l) and the options that change them
# (-N, -a, -F, -S, -s, -m, --feedback-*), on a plain message and on MIME messages.
# mailbot is the one next to $MAILDROP; replies are shown with -n, or handed to a stub
# mailer that records its arguments and standard input. Only what is random is blanked:
# MIME boundaries and the report's Arrival-Date.
case "$MAILDROP" in
  *" maildrop") MAILBOT="${MAILDROP% maildrop} mailbot" ;;
  *) MAILBOT="$(dirname "$MAILDROP")/mailbot" ;;
esac
norm() {
  sed -E -e 's/=_[A-Za-z0-9.]+-[0-9]+-[0-9]+-[0-9]+/=_BOUNDARY/g' \
         -e 's/^(\| )?(Arrival-Date:).*/\1\2 -BLANKED-/'
}
mb() { # mb MESSAGE ARGS...: show the reply
  local msg=$1; shift
  echo "--- mailbot $*"
  $MAILBOT "$@" -n < "$msg" 2>&1 | norm
  echo "[exit ${PIPESTATUS[0]}]"
}

printf 'I am away until Monday.\nPlease wait.\n' > away.txt
printf 'Content-Type: text/plain; format=flowed; delsp=yes; charset="iso-8859-1"\nContent-Transfer-Encoding: 7bit\n\nMary had a little lamb.\n' > away.mime

cat > plain.eml <<'M'
From: Joe Brown <joe@example.com>
To: me@here, Ann <ann@example.org>
Cc: c@example.net, joe@example.com
Subject: hello there
Date: Mon, 1 Jan 2024 10:00:00 +0000
Message-ID: <m1@example.com>
X-Folded: one
  two

line one
> quoted line
   indented with trailing blanks   

last line
M

cat > mixed.eml <<'M'
From: "Brown, Joe" <joe@example.com>
To: me@here
Subject: Re: [team]  Fwd: the report
Message-ID: <m2@example.com>
References: <a@example.com> <b@example.com>
Mime-Version: 1.0
Content-Type: multipart/mixed; boundary="XX"

This is a multipart message.
--XX
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: quoted-printable

Here is the re=
port.
  see attachment  
--XX
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="a.bin"
Content-Transfer-Encoding: base64

AAECAwQ=
--XX--
M

cat > alt.eml <<'M'
From: ann@example.org
To: me@here,
  Bob <bob@example.org>
Cc: ann@example.org, bob@example.org, carol@example.net
Subject: Fwd: alternatives
Mime-Version: 1.0
Content-Type: multipart/alternative; boundary="YY"

--YY
Content-Type: text/plain

plain part
--YY
Content-Type: text/html

<p>html part</p>
--YY--
M

cat > html.eml <<'M'
From: ann@example.org
Subject: html only
Mime-Version: 1.0
Content-Type: text/html

<p>x</p>
M

echo "=== reply and replyall"
mb plain.eml -t away.txt -A 'From: me@here'
mb plain.eml -T replyall -t away.txt -A 'From: me@here'
mb alt.eml -T replyall -t away.txt
mb mixed.eml -T reply -t away.txt -S 'On %d, %F <%f> wrote about "%s" (%i):'
mb html.eml -T reply -t away.txt
mb plain.eml -T replydsn -t away.txt -N

echo "=== replydsn (-M)"
mb plain.eml -M dsn@here -t away.txt -A 'From: me@here'
mb mixed.eml -M dsn@here -t away.txt -N -a
mb alt.eml -T forward -M dsn@here -m away.mime -s 'Delivered'

echo "=== forward"
mb plain.eml -T forward -t away.txt -A 'From: me@here'
mb mixed.eml -T forward -t away.txt
mb alt.eml -T forward -t away.txt -F '=== forwarded ==='
mb html.eml -T forward -t away.txt
mb plain.eml -T forward -m away.mime -s 'FYI'

echo "=== forwardatt"
mb plain.eml -T forwardatt -t away.txt -A 'From: me@here'
mb mixed.eml -T forwardatt -t away.txt -F 'See attached.'

echo "=== feedback"
mb plain.eml -T feedback -R abuse -t away.txt -A 'From: abuse@here'
mb mixed.eml -T feedback -R virus -N -t away.txt
mb alt.eml -T replyfeedback -R fraud -N -a -t away.txt --feedback-source-ip 192.0.2.1 \
  --feedback-reported-domain example.org --feedback-AUTHENTICATION-results 'spf=fail' \
  --feedback-original-rcpt-to '<me@here>' --feedback-original-mail-from '<ann@example.org>' \
  --feedback-incidents 3 --feedback-reporting-mta 'dns; mx.here' --feedback-original-envelope-id '<env1>'
mb plain.eml -T feedback -t away.txt -N --feedback-source-ip 192.0.2.1
mb plain.eml -T reply -R abuse -t away.txt

echo "=== replydraft"
mkdir -p Drafts/new Drafts/cur Drafts/tmp Empty/new Empty/cur
printf 'From: me@here\nTo: someone\nSubject: old draft\nContent-Type: text/plain; charset=utf-8\n\nOld draft.\n' > Drafts/cur/100.a:2,S
touch -d '2024-01-01 00:00:00' Drafts/cur/100.a:2,S
printf 'From: me@here\nSubject: vacation\nContent-Type: text/plain;\n  charset=utf-8\nContent-Transfer-Encoding: 7bit\nX-Other: dropped\n\nI am on vacation.\n' > Drafts/new/200.b
touch -d '2024-01-02 00:00:00' Drafts/new/200.b
printf 'Subject: trashed\n\nnot this one\n' > Drafts/cur/300.c:2,ST
mb plain.eml -T replydraft -l Drafts -A 'From: me@here'
mb mixed.eml -T replydraft -l Drafts -s 'Away'
mb plain.eml -T replydraft -l Empty
mb plain.eml -T replydraft -l Missing

echo "=== through the mailer"
cat > mailer <<'S'
#!/bin/sh
{ echo "mailer [$*]"; sed 's/^/| /'; echo "."; } >> sent.log
S
chmod 755 mailer
$MAILBOT -T forwardatt -t away.txt -A 'From: me@here' ./mailer -f '' bob@example.org < plain.eml; echo "[exit $?]"
$MAILBOT -M dsn@here -t away.txt ./mailer -f '' < alt.eml; echo "[exit $?]"
norm < sent.log
echo "--- command lines mailbot cannot use (exit status only; the usage texts differ)"
for args in "-Z" "-T bogus" "" "-t away.txt -D" "-R abuse -t away.txt"; do
  $MAILBOT $args < plain.eml > /dev/null 2>&1
  echo "[$args] exit $?"
done
