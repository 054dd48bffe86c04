# POP3 TOP edge cases: 0 lines, more lines than the body, no body at all, a header without a
# final newline, an empty file, CRLF line ends, dot-stuffing in headers and body, RETR of the
# same files (for the sizes and the final CRLF), and what the session leaves behind.
# Not here on purpose: a header line starting with "."; Courier sends header lines without
# dot-stuffing (an RFC 1939 violation: a header line "." would end the reply), we stuff them.
$MAILDIRMAKE md
put() { printf "$2" > "md/new/$1"; touch -d @$(( ${1%%.*} )) "md/new/$1"; }
put 1600000001.M1P1.test 'From: a@example.org\nSubject: normal\n\nline one\nline two\n.dot line\nline four\n'
put 1600000002.M2P1.test 'From: a@example.org\nSubject: no body\n'
put 1600000003.M3P1.test 'From: a@example.org\nSubject: no final newline'
put 1600000004.M4P1.test ''
put 1600000005.M5P1.test 'From: a@example.org\r\nSubject: crlf\r\n\r\nbody one\r\n.body two\r\n'
put 1600000006.M6P1.test 'From: a@example.org\nSubject: dot lines\n\n.\n..\nlast line without newline'
put 1600000007.M7P1.test 'Subject: blank body\n\n'
put 1600000008.M8P1.test 'Subject: many blank\n\n\n\n\nx\n'
$POP3D md <<'POP'
LIST
TOP 1 0
TOP 1 1
TOP 1 3
TOP 1 4
TOP 1 100
TOP 2 0
TOP 2 5
TOP 3 0
TOP 3 2
TOP 4 0
TOP 4 1
TOP 5 0
TOP 5 1
TOP 5 9
TOP 6 0
TOP 6 1
TOP 6 2
TOP 6 3
TOP 6 10
TOP 7 0
TOP 7 1
TOP 8 0
TOP 8 2
TOP 8 3
TOP 1 -1
TOP 1 x
TOP 1
TOP 9 0
TOP 0 0
RETR 2
RETR 3
RETR 4
RETR 5
RETR 6
QUIT
POP
ls md/cur md/new
