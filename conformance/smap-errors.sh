# Courier's SMAP protocol on bad input: unknown commands, commands needing an open folder, a NUL
# in a line, an unterminated quote, bad message sets, IDLE without RESUME, an overlong line, ADD
# to a missing folder, CRLF line ends, and a session that ends without LOGOUT.
settle() { local d=${1:-md} i=0 f s; for f in $(ls -tr "$d/new"); do i=$((i+1)); s=${f##*,S=}
  mv "$d/new/$f" "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; touch -d @$((1600000000+i)) "$d/new/$((1600000000+i)).M${i}P1.test,S=$s"; done; }
$MAILDIRMAKE md
for i in 1 2; do
  printf 'Subject: errors %s\n\nbody %s\n' "$i" "$i" | $DELIVERQUOTA md
done
settle md
{ printf 'BOGUS\n\nRSET\nFETCH 1 FLAGS\nOPEN INBOX\nFETCH 1 FLAGS\0 SIZE\nSTATUS FULL "INBOX\n'
  printf 'FETCH 3-1 FLAGS\nSTORE x +FLAGS=SEEN\nSEARCH ALL BOGUS\nIDLE\nNOOP\nIDLE\nRESUME\n'
  head -c 8300 /dev/zero | tr '\0' a
  printf '\nNOOP\nADD FOLDER INBOX nope\nADD {.}\nhi\n.\nADD FOLDER INBOX\n'
  printf 'ADD {.}\r\nSubject: crlf\r\n\r\nbody\r\nno newline\r\n.\r\nADD {.}\n.\nfetch 1 SIZE\r\nNOOP\n'
} | MAILDIR=md PROTOCOL=SMAP1 $IMAPD
