# reformime: the MIME structure, -i (section information with byte offsets), -s (chosen
# sections), -e (decoded content), and messages that are not MIME.
cat > mm <<'MSG'
From: a@b
Subject: test
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XX"

preamble
--XX
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

H=F3la caf=E9 soft=
break
--XX
Content-Type: multipart/alternative; boundary=YY

--YY
Content-Type: text/plain

alt plain
--YY
Content-Type: text/html; charset=utf-8

<p>hi</p>
--YY--
--XX
Content-Type: application/octet-stream; name="file one.bin"
Content-Disposition: attachment; filename="../etc/pa ss.bin"
Content-Transfer-Encoding: base64

aGVsbG8gd29ybGQK
aGVsbG8gd29ybGQK
--XX
Content-Type: image/png; name=pic.png
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--XX
Content-Type: message/rfc822

Subject: inner
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=ZZ

--ZZ
Content-Type: text/plain

inner body
--ZZ--
--XX--
epilogue
MSG
$REFORMIME < mm; echo "rc=$?"
$REFORMIME -i < mm; echo "rc=$?"
$REFORMIME -i -s 1.2.1,1.3 < mm; echo "rc=$?"
$REFORMIME -s 1.1 -e < mm | od -c; echo "rc=$?"
for s in 1.2.2 1.3 1.4 1.5 1.5.1 1.5.1.1; do echo "== $s"; $REFORMIME -e -s $s < mm; echo "rc=$?"; done
$REFORMIME -e -s 1.9 < mm; echo "rc=$?"
# (-X and -x make Debian's reformime 1.0 crash, so they are tested in our unit tests only)
printf 'Subject: plain\n\nno mime\n' | $REFORMIME -i; echo "rc=$?"
printf 'Subject: plain\n\nno mime\n' | $REFORMIME; echo "rc=$?"
printf 'Subject: plain\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nline\r\n' | $REFORMIME -i; echo "rc=$?"
