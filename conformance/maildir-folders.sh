# Maildir++ folders and quotas through maildirmake and deliverquota: option parsing, exit
# codes, permissions, what -q does to folders, quota recalculation rules and the quota warning.
list() { find "$@" -printf '%m %y %p\n' | sed -E 's/[0-9]{10}\.M[0-9]+P[0-9]+(V[0-9A-F]+I[0-9A-F]+)?/UNIQ/' | sort -k3; }
$MAILDIRMAKE; echo "no args exit $?"
$MAILDIRMAKE md; echo "make exit $?"
$MAILDIRMAKE md 2>/dev/null; echo "again exit $?"
$MAILDIRMAKE -x md; echo "bad option exit $?"
$MAILDIRMAKE -Sq 5S md; echo "combined flags exit $?"
$MAILDIRMAKE -q; echo "-q without value exit $?"
$MAILDIRMAKE -f Sent md; echo "folder exit $?"
$MAILDIRMAKE -f Sent md 2>/dev/null; echo "folder again exit $?"
$MAILDIRMAKE -f Sent.2024 md; echo "subfolder exit $?"
$MAILDIRMAKE -f Lists.Go.Nuts md; echo "deep subfolder exit $?"
$MAILDIRMAKE -f .Bad md; echo "leading dot exit $?"
$MAILDIRMAKE -f '' md 2>/dev/null; echo "empty name exit $?"
$MAILDIRMAKE -f 'a/b' md 2>/dev/null; echo "slash exit $?"
$MAILDIRMAKE -fAttached md; echo "attached -f exit $?"
$MAILDIRMAKE -f First -f Second md; echo "last -f wins exit $?"
$MAILDIRMAKE -f Trash md; echo "trash exit $?"
$MAILDIRMAKE -F Plain md; echo "-F ascii exit $?"
$MAILDIRMAKE -F 'Caf'$'\xc3\xa9' md 2>/dev/null; echo "-F non-ascii in C locale exit $?"
$MAILDIRMAKE md2 -q 100S; echo "options after maildir ignored exit $?"
ls md2
list md md2
echo "--- quotas"
$MAILDIRMAKE -q 100X,5C q1 2>/dev/null; echo "unparseable exit $?"; cat q1/maildirsize
$MAILDIRMAKE -q 7S,2C,9S q2; cat q2/maildirsize
$MAILDIRMAKE -q abc q3; echo "abc exit $?"; ls q3
$MAILDIRMAKE -q 0S q3; ls q3
$MAILDIRMAKE -q5S q4; cat q4/maildirsize
$MAILDIRMAKE -q 99999999999999999999S q5; cat q5/maildirsize
$MAILDIRMAKE -q 1000S -f Own md; echo "new folder with quota exit $?"
list md/.Own
cat md/.Own/maildirsize
$MAILDIRMAKE -q 2000S -f Sent md; echo "existing folder with quota exit $?"
cat md/maildirsize
echo "--- delivery accounting"
printf 'Subject: a\n\nA\n' | $DELIVERQUOTA md; echo "inbox exit $?"
printf 'Subject: b\n\nBB\n' | $DELIVERQUOTA md/.Sent; echo "folder exit $?"
printf 'Subject: t\n\nTrash\n' | $DELIVERQUOTA md/.Trash; echo "trash exit $?"
cat md/maildirsize
ls md/.Sent/new | wc -l
printf 'xxxxx' > md/cur/handmade:2,S
printf 'xxxxxxx' > md/cur/deleted,S=7:2,ST
printf 'yy' > md/.Sent/cur/sized,S=40:2,
printf 'z' > md/cur/.hidden
printf 'Subject: r\n\nrecalc\n' | $DELIVERQUOTA md 1000S; echo "override exit $?"
cat md/maildirsize
echo "--- limits"
$MAILDIRMAKE -q 40S,2C lim
printf '%019d\n' 0 | $DELIVERQUOTA lim; echo "20 bytes exit $?"
printf '%019d\n' 0 | $DELIVERQUOTA lim; echo "exactly full exit $?"
printf 'x\n' | $DELIVERQUOTA lim; echo "over exit $?"
cat lim/maildirsize
ls lim/tmp | wc -l
echo "--- deliverquota options"
printf 'x\n' | $DELIVERQUOTA 2>/dev/null; echo "usage exit $?"
printf 'x\n' | $DELIVERQUOTA nomd 2>/dev/null; echo "missing exit $?"
printf 'x\n' | $DELIVERQUOTA -c made/deep/md; echo "-c exit $?"
list made
printf 'x\n' | $DELIVERQUOTA -w 2>/dev/null; echo "-w alone exit $?"
printf 'x\n' | $DELIVERQUOTA -w 50 2>/dev/null; echo "-w without maildir exit $?"
printf 'x\n' | $DELIVERQUOTA -- md 2>/dev/null; echo "-- exit $?"
printf 'x\n' | $DELIVERQUOTA md abc extra; echo "extra args exit $?"
echo "--- warning"
printf 'From: postmaster\nSubject: quota warning\n\nYou are near your quota.\n' > warn.txt
$MAILDIRMAKE -q 100S,10C w
printf '%039d\n' 0 | $DELIVERQUOTA -w 50 -W warn.txt w; echo "below exit $?"
ls w
printf '%039d\n' 0 | $DELIVERQUOTA -w 50 -W warn.txt w; echo "above exit $?"
ls w
cat w/maildirsize
ls w/new | sed -E 's/^[0-9]{10}\.M[0-9]+P[0-9]+V[0-9A-F]+I[0-9A-F]+//' | sort
cat w/new/*_warn* | sed -E 's/^Date: .*/Date: -DATE-/; s/<[0-9]+\.overquota@.*>/<N.overquota@HOST>/'
printf 'x\n' | $DELIVERQUOTA -w 50 -W warn.txt w; echo "again exit $?"
ls w/new | wc -l
