# IMAP SEARCH dates, flags and keywords: BEFORE/ON/SINCE take the internal date's day in the
# server's zone (TZ=EST5EDT here), SENT* the Date: field's day in the same zone; a missing or
# unparsable Date: matches no SENT* key. Keywords match case-insensitively.
$MAILDIRMAKE md
i=0
for d in 'Wed, 01 Jan 2020 23:30:00 -0500' 'Thu, 02 Jan 2020 03:30:00 +0000' 'garbage' '' '2 Jan 2020 01:00 +0900' 'Thu, 02 Jan 20 10:00:00 GMT' 'Thu, 02 Jan 2020 10:00:00 EST'; do
	i=$((i+1))
	{ echo "Subject: m$i"; [ -n "$d" ] && echo "Date: $d"; echo; echo "body $i"; } | $DELIVERQUOTA md
	f=$(ls md/new | grep -v '\.test,' | head -1)
	mv "md/new/$f" "md/new/$((1600000000+i)).M${i}P1.test,S=${f##*,S=}"
done
# internal dates: message 1 late on 1 Jan EST (already 2 Jan in UTC), message 2 just after
# midnight EST on 2 Jan, the others at noon UTC on following days
i=0; for f in $(ls md/new | sort); do i=$((i+1))
	case $i in 1) t='2020-01-02 04:30 UTC';; 2) t='2020-01-02 05:30 UTC';; *) t="2020-01-0$i 12:00 UTC";; esac
	touch -d "$t" "md/new/$f"; done
IMAP_KEYWORDS=1 MAILDIR=md $IMAPD <<'IMAP'
a SELECT INBOX
b1 SEARCH ON 1-Jan-2020
b2 SEARCH ON 2-Jan-2020
b3 SEARCH BEFORE 2-Jan-2020
b4 SEARCH SINCE 2-Jan-2020
b5 SEARCH SENTON 1-Jan-2020
b6 SEARCH SENTON 2-Jan-2020
b7 SEARCH SENTBEFORE 2-Jan-2020
b8 SEARCH SENTSINCE 2-Jan-2020
b9 SEARCH NOT SENTBEFORE 1-Jan-2030
b10 SEARCH SENTSINCE 1-Jan-1970 SENTBEFORE 2-Jan-2020
s1 STORE 1 +FLAGS (Foo \Seen)
s2 STORE 2 +FLAGS (bar \Flagged)
b11 SEARCH KEYWORD foo
b12 SEARCH KEYWORD FOO
b13 SEARCH UNKEYWORD foo
b14 SEARCH KEYWORD \Seen
b15 SEARCH NEW
b16 SEARCH OLD
b17 SEARCH OR SEEN FLAGGED
b18 SEARCH UNSEEN NOT 5:*
b19 SEARCH UID 1:3 NOT SEEN
b20 SEARCH (OR 1 2) (OR 2 3)
z LOGOUT
IMAP
