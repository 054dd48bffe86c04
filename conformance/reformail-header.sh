# reformail: extracting (-x, -X), adding (-a, -A, -i, -I), renaming (-R), deduplicating
# (-u, -U) and unfolding (-c) header fields, line ends (-d), From_ lines (-f0, -f1; the
# generated From_ date is replaced) and bad arguments.
cat > msg <<'MSG'
From: Joe <joe@x.com>
To: me@y,
	other@z
Subject: Hello
X-A: 1
x-a:   2
Message-ID: <abc@x>
X-A:3
Bad line

body
From me
>From you
MSG
t() { echo "== $*"; $REFORMAIL "$@" < msg; echo "rc=$?"; }
t -x X-A: ; t -X x-a: ; t -x To: -x subject: ; t -x X-A ; t -x 'A: ' ; t -x X-A: -X X-A: ; t -x nosuch:
t -c ; t -u X-A: ; t -U x-a: ; t -a 'X-A: new' ; t -a 'X-New: v' -a 'X-New: w' ; t -A 'X-A: again'
t -i 'X-A: i' ; t -I 'X-A: I' ; t -I 'X-A:' ; t -R X-A: X-B: ; t -R x-a: Y ; t -a 'Message-ID:'
t -i 'X-A: n' -A 'Z: 1' -I 'Subject: 2' -a 'Y: 3' -c
t -aQ: 1 -AR:2
t -d1 | od -c | head -5 ; t -d 1 -c | od -c | head -5 ; t -d0
t -f1 | sed 's/^From joe@x.com .*/From joe@x.com DATE/' ; t -f0 ; t -f
t -z ; t -x ; t -R X-A: ; t junk
printf '\n\nFrom bob@b.org Mon Jan  1 00:00:00 2024\nReturn-path: <old@x>\nSubject: s\n\n>From me\n>>From b\n> From c\nFrom you\n' > mb
$REFORMAIL -f0 -a 'X: 1' < mb; echo "rc=$?"
$REFORMAIL -f1 < mb; echo "rc=$?"
$REFORMAIL < mb; echo "rc=$?"
for m in 'Errors-To: err@e\nFrom: Joe <joe@x.com>' 'Errors-To: err@e\nReturn-Path: <rp@r>' 'From: <>' 'Subject: x' 'From: "Joe, Q" <jq@x.com>, k@l' 'From: a@b (A B)'; do
  printf "$m\n\nFrom here\n" | $REFORMAIL -f1 | sed 's/^\(From [^ ]*\) .*:.*/\1 DATE/'
done
printf 'S: a\r\nT: b\r\n  c\r\n\r\nbody\r\nmore' | $REFORMAIL | od -c
printf 'S: a\nT: b\n' | $REFORMAIL -a 'X: 1'; echo "rc=$?"
printf 'S: a' | $REFORMAIL -I 'S: b'; echo "rc=$?"
printf '' | $REFORMAIL; echo "rc=$?"
