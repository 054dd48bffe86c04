# IMAP BODYSTRUCTURE and sections of nested messages: message/rfc822 in multipart in message/rfc822, multipart/digest, message/global, extension data.
# Name the delivered messages in delivery order with distinct times (see imap-mime-fetch.sh).
settle() { local d=${1:-md} i=0 f s; for f in $(ls -tr "$d/new"); do i=$((i+1)); s=${f##*,S=}
  mv "$d/new/$f" "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; touch -d @$((1600000000+i)) "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; done; }
$MAILDIRMAKE md
$DELIVERQUOTA md <<'MSG'
From: outer@x
Subject: outer
MIME-Version: 1.0
Content-Type: message/rfc822

From: mid@x
Subject: middle
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=m

--m
Content-Type: text/plain

first
--m
Content-Type: message/rfc822

From: inner@x
Subject: inner
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary=i

--i

inner text
--i
Content-Type: text/html

<p>x</p>
--i--
--m--
MSG
$DELIVERQUOTA md <<'MSG'
MIME-Version: 1.0
Content-Type: multipart/digest; boundary=D

--D

From: d1@x
Subject: digest one

one
--D
Content-Type: text/plain

not a message
--D--
MSG
$DELIVERQUOTA md <<'MSG'
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=G

--G
Content-Type: message/global

From: g@x
Subject: global

body
--G
Content-Type: message/rfc822

--G--
MSG
$DELIVERQUOTA md <<'MSG'
MIME-Version: 1.0
Content-Type: multipart/related; boundary=E; type="text/html"
Content-Language: en, de
Content-Disposition: inline
Content-Location: http://x/y

--E
Content-Type: text/html; charset=utf-8
Content-ID: <part1@x>
Content-Description: the   page  
Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==
Content-Language: fr
Content-Location: "index.html"
Content-Disposition: attachment; filename="a b.html"; size=12; filename*=utf-8''a%20b.html

<p>hi</p>
--E
Content-Type: image/png
Content-ID: plain-id
Content-Disposition: ; filename=x.png
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--E--
MSG
settle md
MAILDIR=md $IMAPD <<'IMAP'
a1 SELECT INBOX
a2 FETCH 1:* (BODYSTRUCTURE)
a3 FETCH 1 (BODY.PEEK[1] BODY.PEEK[1.2.HEADER] BODY.PEEK[1.2.TEXT] BODY.PEEK[1.2.1] BODY.PEEK[1.2.2.MIME])
a4 FETCH 2 (BODY.PEEK[1.TEXT] BODY.PEEK[1.MIME] BODY.PEEK[2]<3.5>)
a5 FETCH 3 (BODY.PEEK[1.HEADER] BODY.PEEK[2.TEXT] BODY.PEEK[2])
a6 LOGOUT
IMAP
