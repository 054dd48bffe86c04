# IMAP ENVELOPE edge cases: groups, comments, route addresses, missing domains, repeated headers, encoded words and 8-bit headers (sent as RFC 2047 words).
# Name the delivered messages in delivery order with distinct times (see imap-mime-fetch.sh).
settle() { local d=${1:-md} i=0 f s; for f in $(ls -tr "$d/new"); do i=$((i+1)); s=${f##*,S=}
  mv "$d/new/$f" "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; touch -d @$((1600000000+i)) "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; done; }
$MAILDIRMAKE md
$DELIVERQUOTA md <<'MSG'
Date:   Mon, 1 Jan 2024 00:00:00 +0000   
Subject: =?utf-8?q?a_b?=   =?utf-8?q?c?= "quoted" back\slash
From: =?utf-8?q?J=C3=BCrgen?= =?utf-8?q?_M?= <j@x.org>
Sender: (comment only)
Reply-To: undisclosed-recipients:;
To: Group One: a@b.c, "Dan, the man" <dan@x>;, plain@host, local-only, <>, "quo\"te\\d" <q@x>
Cc: (Bob Smith) bob@x.org, bob2@x.org (Bob Two), john doe@x.org, @route1,@route2:r@x.org, <@r1:rr@x>
Bcc: a@b.c,, ,b@c.d, "unterminated
In-Reply-To:    <abc@def>   
Message-ID: 
To: second@to.header

body
MSG
$DELIVERQUOTA md <<'MSG'
Subject: =?utf-8?q?a_b?=   =?utf-8?q?c?= "quoted" back\slash
From: =?utf-8?q?J=C3=BCrgen?= =?utf-8?q?_M?= <j@x.org>
To: =?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii; name="=?utf-8?q?f=C3=A9?="
Content-Description: =?utf-8?b?w6k=?=

x
MSG
printf 'Subject: caf\303\251 au lait\nFrom: J\303\274rgen M\303\274ller <j@example.com>\nTo: "Ren\303\251e" <r@ex.com>, b\303\251@x.org\nCc: latin \351t\351 <l@x>\nMIME-Version: 1.0\nContent-Type: text/plain; name="r\303\251sum\303\251.txt"\nContent-Description: d\303\251j\303\240 vu\n\nbody \351\n' | $DELIVERQUOTA md
$DELIVERQUOTA md <<'MSG'
Subject: folded
	subject
  line
From: "A
 B" <a@b>
To: x@y,
 z@w
MIME-Version: 1.0
Content-Type: multipart/mixed;
 boundary="F"
Content-Description: one
  two

--F
Content-Type: text/plain;
	charset="us-ascii"

f
--F--
MSG
settle md
MAILDIR=md $IMAPD <<'IMAP'
a1 SELECT INBOX
a2 FETCH 1:* (ENVELOPE)
a3 FETCH 3:4 (BODYSTRUCTURE)
a4 FETCH 4 (BODY.PEEK[HEADER.FIELDS (subject FROM)] BODY.PEEK[1.MIME])
a5 LOGOUT
IMAP
