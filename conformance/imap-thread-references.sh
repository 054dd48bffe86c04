# IMAP THREAD (RFC 5256): REFERENCES with References and In-Reply-To, missing parents
# (dummies), duplicate Message-IDs, loops, subject merging of replies; ORDEREDSUBJECT. Every
# message has a Date:, no subject has more than two messages under ORDEREDSUBJECT, and no
# reply precedes its original across dummies: Courier departs from RFC 5256 there (see
# internal/imap/sortthread).
settle() { local d=${1:-md} i=0 f s; for f in $(ls -tr "$d/new"); do i=$((i+1)); s=${f##*,S=}
  mv "$d/new/$f" "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; touch -d @$((1600000000+i)) "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; done; }
$MAILDIRMAKE md
i=0
while IFS='|' read -r id refs irt subj hour; do
	i=$((i+1))
	{ [ -n "$id" ] && echo "Message-ID: $id"; [ -n "$refs" ] && echo "References: $refs"; [ -n "$irt" ] && echo "In-Reply-To: $irt"
	  echo "Subject: $subj"; echo "Date: Wed, 01 Jan 2020 $hour:00:00 +0000"; echo; echo "body $i"; } | $DELIVERQUOTA md
	sleep 0.02
done <<'MSGS'
<a@x>|||topic A|01
<b@x>|<a@x>||Re: topic A|02
<c@x>|<a@x> <b@x>||Re: topic A|03
<d@x>||<a@x>|Re: topic A|04
<e@x>|<missing@x> <alsomissing@x>||orphan|05
<f@x>|<missing@x>||orphan two|06
<a@x>|||dup of a|07
<g@x>|<h@x>||loop one|08
<h@x>|<g@x>||loop two|09
|||Re: topic A|10
<i@x>|garbage|<zz@x> (comment) <yy@x>|irt|11
<j@x>|<a@x>  <i@x>||multi|12
<Case@X>|||case|13
<k@x>|<case@x>||case two|14
<l@x>|||Re: p8|15
<m@x>|||Re: p8|16
<n@x>|< k@x >||spaces|17
MSGS
settle md
MAILDIR=md $IMAPD <<'IMAP'
a SELECT INBOX
t1 THREAD REFERENCES UTF-8 ALL
t2 UID THREAD REFERENCES UTF-8 ALL
t3 THREAD REFERENCES UTF-8 2:9
t4 THREAD ORDEREDSUBJECT UTF-8 NOT SUBJECT "topic A"
t5 THREAD REFERENCES US-ASCII SUBJECT "topic"
t6 THREAD ORDEREDSUBJECT UTF-8 10:*
z LOGOUT
IMAP
