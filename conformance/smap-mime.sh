# Courier's SMAP protocol: FETCH CONTENTS of MIME parts (MIME, HEADERS, RAWHEADERS, BODY, ALL,
# BODY.DECODED with base64 and quoted-printable), part ids of nested messages, SEARCH in parts.
settle() { local d=${1:-md} i=0 f s; for f in $(ls -tr "$d/new"); do i=$((i+1)); s=${f##*,S=}
  mv "$d/new/$f" "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; touch -d @$((1600000000+i)) "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; done; }
$MAILDIRMAKE md
printf 'Subject: plain\nFrom: a@example.org\n\nplain body\n' | $DELIVERQUOTA md
sleep 1
$DELIVERQUOTA md <<'EOF2'
Subject: m
Mime-Version: 1.0
Content-Type: multipart/mixed; boundary=aaa

pre
--aaa
Content-Type: message/rfc822

Subject: in

Inner

--aaa
Content-Type: text/plain
Content-Transfer-Encoding: base64

SGVsbG8gd29ybGQK

--aaa
Content-Type: message/rfc822

Subject: in2
X-Long: a
  b
	c

Inner2
--aaa
Content-Type: multipart/alternative; boundary=bbb

--bbb
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

S=E2m =
x

--bbb--

--aaa--
epi
EOF2
settle md
MAILDIR=md PROTOCOL=SMAP1 $IMAPD <<'SMAP'
OPEN INBOX
FETCH 2 CONTENTS.PEEK=MIME
FETCH 2 CONTENTS.PEEK=BODY[1.1]
FETCH 2 CONTENTS.PEEK=BODY[1.3.0]
FETCH 2 CONTENTS.PEEK=BODY.DECODED[1.2]
FETCH 2 CONTENTS.PEEK=BODY.DECODED[1.4.1]
FETCH 2 CONTENTS.PEEK=ALL[1.2]
FETCH 2 CONTENTS.PEEK=HEADERS[1.3.0]
FETCH 2 CONTENTS.PEEK=RAWHEADERS[1.3.0]
FETCH 2 CONTENTS.PEEK=HEADERS[1.9]
FETCH 2 CONTENTS=BODY
FETCH 1 CONTENTS=MIME(:ENVELOPE)
FETCH 2 CONTENTS=HEADERS(:MIME,x-long)
FETCH 1-2 FLAGS SIZE
SEARCH ALL BODY hello
SEARCH ALL HEADER x-long "a b"
SEARCH ALL TEXT inner2
SEARCH 1-2 NOT SEEN
SEARCH ALL SMALLER 100
LOGOUT
SMAP
