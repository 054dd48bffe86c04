# IMAP SEARCH string keys on MIME mail, as Courier-IMAP matches them: case-insensitive,
# white space collapsed, RFC 2047 decoded headers, address fields in display form, BODY on
# decoded text parts only, TEXT adding every header (name and value apart).
settle() { local d=${1:-md} i=0 f s; for f in $(ls -tr "$d/new"); do i=$((i+1)); s=${f##*,S=}
  mv "$d/new/$f" "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; touch -d @$((1600000000+i)) "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; done; }
$MAILDIRMAKE md
printf 'From: "Joe Bloggs" <Joe@Example.COM>, a@b.c (Comment Name)\nTo: name only, G: x@y, z@w;\nSubject: Hello   World\n  folded part\nDate: Wed, 01 Jan 2020 12:00:00 +0000\nX-Foo: bar\n\nBody text here.\nline two\n' | $DELIVERQUOTA md; sleep 0.02
printf 'From: =?iso-8859-1?q?Andr=E9?= <andre@xn--bcher-kva.example>\nSubject: =?iso-8859-1?q?caf=E9_au?= =?utf-8?q?_lait?= =?utf-8?q?glued?=x\nDate: Thu, 02 Jan 2020 12:00:00 +0000\nX-Foo:\n\nSome plain text\n' | $DELIVERQUOTA md; sleep 0.02
printf 'From: x@y\nSubject: qp test\nMIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nSoft=\nbreak and caf=E9 and =C4rger\n' | $DELIVERQUOTA md; sleep 0.02
printf 'From: x@y\nSubject: multipart\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=BB\n\npreamble words\n--BB\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\nX-Part: partheader\n\naGVsbG8gYmFzZTY0IHdvcmxk\n--BB\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\nc2VjcmV0IGJpbmFyeSB0ZXh0\n--BB\nContent-Type: text/html\n\n<p>html para</p>\n--BB\nContent-Type: message/rfc822\n\nSubject: inner\n\ninner body\n--BB--\nepilogue words\n' | $DELIVERQUOTA md; sleep 0.02
printf 'Subject: no mime version\nContent-Type: multipart/mixed; boundary=BB\n\n--BB\n\nraw part\n--BB--\n' | $DELIVERQUOTA md
settle md
MAILDIR=md $IMAPD <<'IMAP'
a SELECT INBOX
b1 SEARCH SUBJECT "hello world folded"
b2 SEARCH SUBJECT "HELLO    WORLD"
b3 SEARCH CHARSET UTF-8 SUBJECT "CAFÉ au lait"
b4 SEARCH SUBJECT "laitglued"
b5 SEARCH SUBJECT "=?iso"
b6 SEARCH FROM "joe bloggs <joe@example.com>, comment name <a@b.c>"
b7 SEARCH FROM "\"joe"
b8 SEARCH CHARSET UTF-8 FROM "andré <andre@bücher.example>"
b9 SEARCH TO "name, only, g: x@y, z@w;"
b10 SEARCH HEADER X-Foo ""
b11 SEARCH HEADER x-foo "BAR"
b12 SEARCH HEADER Subject ""
b13 SEARCH BCC ""
b14 SEARCH TEXT "x-foo:"
b15 SEARCH TEXT "x-foo: bar"
b16 SEARCH TEXT "partheader"
b17 SEARCH BODY "partheader"
b18 SEARCH BODY "here. line two"
b19 SEARCH BODY "softbreak"
b20 SEARCH CHARSET UTF-8 BODY "café AND ärger"
b21 SEARCH CHARSET ISO-8859-1 BODY "caf"
b22 SEARCH BODY "base64 world"
b23 SEARCH BODY "secret"
b24 SEARCH BODY "<p>html"
b25 SEARCH BODY "inner body"
b26 SEARCH BODY "preamble"
b27 SEARCH BODY "epilogue"
b28 SEARCH BODY "--BB"
b29 SEARCH TEXT "inner"
b30 SEARCH BODY ""
b31 SEARCH BODY "  "
b32 SEARCH OR BODY "raw part" SUBJECT "qp" NOT FROM "x@y"
b33 SEARCH CHARSET X-NO-SUCH-CHARSET BODY "x"
z LOGOUT
IMAP
