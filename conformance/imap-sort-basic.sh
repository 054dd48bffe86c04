# IMAP SORT (RFC 5256): base subjects ("Re:", "Fwd:", "[list]", "(fwd)", "[fwd: ]", encoded
# words), i;ascii-casemap order, DATE in UTC, SIZE, ARRIVAL, REVERSE, several keys. Every
# message has a Date:, distinct lower-case sender/recipient mailboxes and ARRIVAL as the last
# key where others tie: Courier breaks ties and sorts addresses against RFC 5256 (see
# internal/imap/sortthread), so the scenario stays where Courier follows the RFC.
settle() { local d=${1:-md} i=0 f s; for f in $(ls -tr "$d/new"); do i=$((i+1)); s=${f##*,S=}
  mv "$d/new/$f" "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; touch -d @$((1600000000+i)) "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; done; }
$MAILDIRMAKE md
i=0
while IFS='|' read -r from to cc subj date pad; do
	i=$((i+1))
	{ echo "From: $from"; echo "To: $to"; [ -n "$cc" ] && echo "Cc: $cc"; echo "Subject: $subj"; echo "Date: $date"; echo; echo "body $pad"; } | $DELIVERQUOTA md
	sleep 0.02
done <<'MSGS'
"Zed" <alice@z.org>|Bob <bob@x>|carl@x|Re: Fwd: [list] Hello (fwd)|Wed, 01 Jan 2020 12:00:00 +0000|x
Bob <dave@y.org>|alan@x|ann@x|hello|Tue, 31 Dec 2019 12:00:00 +0000|xxxxxxxx
carol@z.org|"Aardvark" <zz@x>||=?utf-8?q?Re=3A_=C3=A9t=C3=A9?=|Wed, 01 Jan 2020 11:00:00 -0500|xx
=?utf-8?q?=C3=89mile?= <emile@x>|mary@x|bea@x|[fwd: Apples]|Wed, 01 Jan 2020 07:00:00 -0800|xxxxxxxxxxxxxxxxxxx
frank@a.org|nick@x||[list]|1 Jan 2020 13:30 +0100|xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
"Gina" <gina@a.org>|oscar@x|dan@x|Re: [x] zebra|Thu, 02 Jan 2020 00:30:00 +0000|xxxxx
hank@x|paul@x|eve@x|apples (FWD)|Fri, 03 Jan 2020 09:15:00 +0200|xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
ivy@x|quinn@x||ÉTÉ|Sat, 04 Jan 2020 09:15:00 +0000|xxxxxxxxxxx
MSGS
settle md
MAILDIR=md $IMAPD <<'IMAP'
a SELECT INBOX
s1 SORT (SUBJECT ARRIVAL) UTF-8 ALL
s2 SORT (REVERSE SUBJECT ARRIVAL) UTF-8 ALL
s3 SORT (FROM) UTF-8 ALL
s4 SORT (TO) UTF-8 ALL
s5 SORT (CC ARRIVAL) UTF-8 ALL
s6 SORT (DATE) UTF-8 ALL
s7 SORT (REVERSE DATE) UTF-8 ALL
s8 SORT (SIZE) UTF-8 ALL
s9 SORT (REVERSE ARRIVAL) UTF-8 ALL
s10 SORT (SUBJECT REVERSE DATE) UTF-8 ALL
s11 UID SORT (SUBJECT ARRIVAL) UTF-8 ALL
s12 SORT (DATE) UTF-8 2:6
s13 SORT (SUBJECT ARRIVAL) UTF-8 NOT SUBJECT apples
s14 SORT (SIZE) US-ASCII FROM "a.org"
z LOGOUT
IMAP
