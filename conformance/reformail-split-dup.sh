# reformail -s (split an mbox, FILENO counting up) and -D (the Message-ID cache of recently
# seen messages: exit 0 for a duplicate, 1 otherwise; the cache file's bytes and how it is
# trimmed to about len octets).
printf 'From a@b Mon\nS: 1\n\nx\n>From q\nFrom b@c Tue\nS: 2\n\ny\n\nFrom c Wed\n\nz\n' > mbox
FILENO=007 $REFORMAIL -s sh -c 'echo "[$FILENO]"; cat; echo "<<"' < mbox; echo "rc=$?"
FILENO=x $REFORMAIL -s sh -c 'echo "[$FILENO]"; cat; echo "<<"' < mbox; echo "rc=$?"
$REFORMAIL -s sh -c 'echo "[$FILENO]"; wc -c' < mbox; echo "rc=$?"
FILENO=98 $REFORMAIL -s sh -c 'echo "[$FILENO]"; wc -l' < mbox; echo "rc=$?"
d() { printf "$1" | $REFORMAIL -D "$2" cache; echo "rc=$? $(tr '\0' '|' < cache)"; }
d 'Message-ID: <m1@x>\n\nb\n' 100
d 'Message-ID: <m1@x>\n\nb\n' 100
d 'Message-Id:   <m2@x> \n\nb\n' 100
d 'message-id: <M1@x>\n\nb\n' 100
d 'Message-ID:\n\nb\n' 100
d 'S: none\n\nb\n' 100
d 'Message-ID:\n  <folded@x>\n\nb\n' 100
for L in 1 31 32 63 64 95 96 97 127 128 160; do
  rm -f cache
  for i in 1 2 3 4 5 6 7; do printf "Message-ID: <message-number-$i@example.com>\n\n" | $REFORMAIL -D $L cache; done
  echo "$L: $(tr '\0' '|' < cache)"
done
rm -f cache
d 'Message-ID: <a>\n\n' 10; d 'Message-ID: <b>\n\n' 10; d 'Message-ID: <a>\n\n' 10; d 'Message-ID: <c>\n\n' 10
d 'Message-ID: <averyveryverylongid>\n\n' 5
# (a further short id with len 5 makes Debian's reformail overwrite the start of the file
# without truncating it, leaving garbage: a bug we do not copy)
