# IMAP BODYSTRUCTURE of broken MIME: no MIME-Version, inherited charset and encoding, missing end boundary, boundary never found, odd Content-Types.
# Name the delivered messages in delivery order with distinct times (see imap-mime-fetch.sh).
settle() { local d=${1:-md} i=0 f s; for f in $(ls -tr "$d/new"); do i=$((i+1)); s=${f##*,S=}
  mv "$d/new/$f" "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; touch -d @$((1600000000+i)) "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; done; }
$MAILDIRMAKE md
$DELIVERQUOTA md <<'MSG'
From: a@b.c
Subject: no version
Content-Type: multipart/mixed; boundary=b

--b

x
--b--
MSG
$DELIVERQUOTA md <<'MSG'
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=b; charset=ISO-8859-1
Content-Transfer-Encoding: 7bit

--b
Content-Type: text/plain; format=flowed; charset=UTF-8; format=fixed

x
--b
Content-Type: text/plain; name="a\"q\\b"; (c) x = "y" ; z=; =w; t=a b . c

y
--b
Content-Type: message/rfc822

Subject: z

zz
--b--
MSG
$DELIVERQUOTA md <<'MSG'
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="=_x"

pre
--=_x
Content-Type: text/plain

one
--=_x
Content-Type: text/html

<b>two</b>
MSG
$DELIVERQUOTA md <<'MSG'
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="nothere"

--other
Content-Type: text/plain

body
--other--
MSG
$DELIVERQUOTA md <<'MSG'
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=Q

--Q
Content-Type: text

a
--Q
Content-Type: text/

b
--Q
Content-Type: /plain; charset

c
--Q
Content-Type:

d
--Q
Content-Type: Application/X-Thing (comment) ; NAME = "x y" ; Name=last
Content-Transfer-Encoding: BASE64

ZQ==
--Q
Content-Type: multipart/mixed

no boundary
--Q--
epilogue
MSG
$DELIVERQUOTA md <<'MSG'
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=ab

--ab
Content-Type: multipart/alternative; boundary=abc

--abc

inner1
--abc

inner2
--abc--
--ab   
Content-Type: text/plain

trailing space boundary
--AB--
MSG
$DELIVERQUOTA md <<'MSG'
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=""

--

part
--x

second
----
after
MSG
settle md
MAILDIR=md $IMAPD <<'IMAP'
a1 SELECT INBOX
a2 FETCH 1:* (BODYSTRUCTURE)
a3 FETCH 1:* (BODY RFC822.SIZE)
a4 FETCH 3 (BODY.PEEK[2] BODY.PEEK[2.MIME])
a5 FETCH 5 (BODY.PEEK[5.MIME] BODY.PEEK[6])
a6 FETCH 6 (BODY.PEEK[1.2] BODY.PEEK[2])
a7 LOGOUT
IMAP
