# maildirkw: setting, adding, removing and listing keywords, and the courierimapkeywords/ files
# it leaves (:list in Courier's hash order, plain updates renamed to .N.base on read).
# The .N number is now/300+1; it is replaced by N so a run across a 5-minute boundary compares.
mkdir -p md/tmp md/new md/cur
printf 'Subject: a\n\nx\n' > md/cur/1000.M1P1.host,S=20:2,S
printf 'Subject: b\n\nx\n' > md/new/1001.M2P2.host,S=20
printf 'Subject: c\n\nx\n' > md/cur/1002.M3P3.host,S=20:2,
K=md/courierimapkeywords
show() { ls -a $K | sed 's/^\.[0-9]*\./.N./'; for f in $K/*; do [ -f "$f" ] && { echo "== ${f#$K/}"; cat "$f"; }; done; }
$MAILDIRKW md 1000.M1P1.host,S=20 Foo bar; echo "set rc=$?"
show
$MAILDIRKW -L md; echo "list rc=$?"
show
$MAILDIRKW -a md 1001.M2P2.host,S=20 Zeta alpha Foo; echo "add rc=$?"
show
$MAILDIRKW -L md
cat $K/:list
$MAILDIRKW -r md 1000.M1P1.host,S=20 foo; echo "remove rc=$?"
$MAILDIRKW -L md
cat $K/:list
# case-sensitive (SMAP) keywords
$MAILDIRKW -c -a md 1000.M1P1.host,S=20 BAR; echo "add -c rc=$?"
$MAILDIRKW -c -L md
cat $K/:list
# the message name may carry its flags; options may follow operands (GNU getopt)
$MAILDIRKW md 1002.M3P3.host,S=20:2, -a cf ab bd ae aj Foo 'a b' '(x)' '\Seen' 'x"y'; echo "rc=$?"
cat $K/1002.M3P3.host,S=20
$MAILDIRKW -L md
cat $K/:list
# dedup, case folding, -a -r: the last one wins
$MAILDIRKW md 1001.M2P2.host,S=20 b B a A c; echo "rc=$?"; cat $K/1001.M2P2.host,S=20
$MAILDIRKW -a -r md 1001.M2P2.host,S=20 B; echo "rc=$?"; cat $K/1001.M2P2.host,S=20
$MAILDIRKW -r -a md 1001.M2P2.host,S=20 zz; echo "rc=$?"; cat $K/1001.M2P2.host,S=20
# clearing a message's keywords; the list drops it
$MAILDIRKW md 1000.M1P1.host,S=20; echo "clear rc=$?"
$MAILDIRKW -L md
show
# keywords for a name not in the folder are kept by maildirkw -L
$MAILDIRKW md nosuch.msg foo; echo "rc=$?"
$MAILDIRKW -L md
cat $K/:list
# all cleared: :list goes away
$MAILDIRKW md nosuch.msg; $MAILDIRKW md 1001.M2P2.host,S=20; $MAILDIRKW md 1002.M3P3.host,S=20
$MAILDIRKW -L md
show
# many keywords: hash order of :list
$MAILDIRKW md 1000.M1P1.host,S=20 a b c d e f g h i j k l m n o p q r s t u v w x y z aa ab ba bb abc bca zz zzz zzzz zzzzz a0 a1 a2 ü ä é Ünï ö
$MAILDIRKW -L md
cat $K/:list
# hand-made and damaged files
printf 'b\na\n\nc\n' > $K/1002.M3P3.host,S=20
$MAILDIRKW -L md
printf 'x\ny\n\n1000.M1P1.host,S=20:0 5 1\nnocolon\n1001.M2P2.host,S=20:\n1002.M3P3.host,S=20:abc 1\n' > $K/:list
rm -f $K/.[0-9]*
$MAILDIRKW -L md
cat $K/:list
# errors and usage
$MAILDIRKW; echo "rc=$?"
$MAILDIRKW md; echo "rc=$?"
$MAILDIRKW -L; echo "rc=$?"
$MAILDIRKW -x md 1.b 2>/dev/null; echo "rc=$?"
$MAILDIRKW nodir 1.b x 2>/dev/null; echo "rc=$?"
$MAILDIRKW -L nodir; echo "rc=$?"
$MAILDIRKW md '' x 2>/dev/null; echo "rc=$?"
$MAILDIRKW md a/b x 2>/dev/null; echo "rc=$?"
$MAILDIRKW -l md 1000.M1P1.host,S=20 locked; echo "rc=$?"
# (Courier leaves its temporary file in tmp/ when an update fails; not compared)
test -e md/tmp/courier.lock; echo "lock left: $?"
$MAILDIRKW -L md
