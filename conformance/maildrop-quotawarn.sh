# maildrop -w N -W FILE (maildrop(1)): after a delivery to a maildir with a quota that leaves
# it at least N percent full, the warning message goes into the top maildir (also for a
# delivery to a folder), with Date: and Message-Id: headers, at most once a day (the quotawarn
# stamp). Compared with deliverquota's -w, which shares the rule.
printf 'From: postmaster\nSubject: quota warning\n\nYou are near your quota.\n' > warn.txt
names() { ls "$1" | sed -E 's/^[0-9]+\.M[0-9]+P[0-9]+V[0-9A-F]+I[0-9A-F]+(_[0-9]+)?//; s/\.[^.,]*,/.HOST,/' | sort; }
show() { # show MAILDIR: what a client would see
  echo "$1: $(ls "$1" | tr '\n' ' ')"
  echo "new: $(names "$1/new" | tr '\n' ' ')"
  for f in "$1"/new/*_warn*; do
    [ -f "$f" ] && sed -E 's/^Date: .*/Date: -DATE-/; s/<[0-9]+\.overquota@.*>/<N.overquota@HOST>/' "$f"
  done
  sed 1q "$1/maildirsize"; awk 'NR > 1 { b += $1; c += $2 } END { print "usage " b "S " c "C" }' "$1/maildirsize"
}
$MAILDIRMAKE -q 100S,10C w
printf 'DEFAULT="./w"\n' > rc; chmod 600 rc
printf '%039d\n' 0 | $MAILDROP -w 50 -W warn.txt ./rc; echo "below exit $?"
show w
printf '%039d\n' 0 | $MAILDROP -w 50 -W warn.txt ./rc; echo "above exit $?"
show w
printf 'x\n' | $MAILDROP -w 50 -W warn.txt ./rc; echo "again within a day exit $?"
show w
touch -d '2 days ago' w/quotawarn
printf 'x\n' | $MAILDROP -w50 -Wwarn.txt ./rc; echo "two days later exit $?"
show w
echo "--- a folder: the warning goes to the top maildir"
$MAILDIRMAKE -q 100S,10C f
$MAILDIRMAKE -f Sub f
printf 'to "./f/.Sub"\n' > rcsub; chmod 600 rcsub
printf '%060d\n' 0 | $MAILDROP -w 50 -W warn.txt ./rcsub; echo "folder exit $?"
show f
echo "new in .Sub: $(names f/.Sub/new | tr '\n' ' ')"
echo "--- cc to two maildirs, each with its own quota"
$MAILDIRMAKE -q 100S w2; $MAILDIRMAKE -q 1000S w3
printf 'cc "./w2"\ncc "./w3"\nexit\n' > rccc; chmod 600 rccc
printf '%060d\n' 0 | $MAILDROP -w 50 -W warn.txt ./rccc; echo "cc exit $?"
show w2; show w3
echo "--- no quota, a threshold not reached, -w 0, an mbox, a missing warning file"
$MAILDIRMAKE nq
printf 'DEFAULT="./nq"\n' > rcnq; chmod 600 rcnq
printf '%060d\n' 0 | $MAILDROP -w 1 -W warn.txt ./rcnq; echo "no quota exit $?"
ls nq; ls nq/new | wc -l
$MAILDIRMAKE -q 1000S w4
printf 'DEFAULT="./w4"\n' > rc4; chmod 600 rc4
printf '%060d\n' 0 | $MAILDROP -w 90 -W warn.txt ./rc4; echo "6%% full exit $?"
printf '%060d\n' 0 | $MAILDROP -w 0 -W warn.txt ./rc4; echo "-w 0 exit $?"
printf '%060d\n' 0 | $MAILDROP -w 5 -W missing.txt ./rc4; echo "missing file exit $?"
show w4
printf 'DEFAULT="./mbox"\n' > rcmb; chmod 600 rcmb
printf 'x\n' | $MAILDROP -w 1 -W warn.txt ./rcmb; echo "mbox exit $?"
echo "--- over quota: no delivery, so no warning"
$MAILDIRMAKE -q 50S w5
printf 'DEFAULT="./w5"\n' > rc5; chmod 600 rc5
printf '%060d\n' 0 | $MAILDROP -w 50 -W warn.txt ./rc5 >/dev/null; echo "over quota exit $?"
show w5
echo "--- deliverquota -w on the same kind of folder"
$MAILDIRMAKE -q 100S,10C d
$MAILDIRMAKE -f Sub d
printf '%060d\n' 0 | $DELIVERQUOTA -w 50 -W warn.txt d/.Sub; echo "deliverquota folder exit $?"
show d
echo "new in .Sub: $(names d/.Sub/new | tr '\n' ' ')"
