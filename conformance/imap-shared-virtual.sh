# Virtual shared folders (README.sharedfolders.html): another account's maildir listed in the
# shared index (IMAP_SHAREDINDEXFILE, as `authenumerate -s` writes it), its folders shared
# with maildiracl, seen under #shared as their ACLs allow the session's user (AUTHENTICATED):
# LIST, MYRIGHTS, GETACL, SELECT, STATUS, FETCH, STORE limited by the rights, EXPUNGE, COPY
# in, CREATE, SUBSCRIBE and LSUB.
$MAILDIRMAKE bob
$MAILDIRMAKE -f Public bob
$MAILDIRMAKE -f Public.Sub bob
$MAILDIRMAKE -f Private bob
$MAILDIRMAKE -f Ro bob
printf 'From: a@example.test\nSubject: one\n\nbody one\n' | $DELIVERQUOTA bob/.Public
sleep 1 # message files named in delivery order
printf 'From: a@example.test\nSubject: two\n\nbody two\n' | $DELIVERQUOTA bob/.Public
printf 'From: a@example.test\nSubject: ro\n\nbody ro\n' | $DELIVERQUOTA bob/.Ro
$MAILDIRACL -set bob INBOX.Public user=$AUTHENTICATED lrswite
$MAILDIRACL -set bob INBOX.Ro user=$AUTHENTICATED lr
$MAILDIRMAKE md
printf 'From: me@example.test\nSubject: mine\n\nmy body\n' | $DELIVERQUOTA md
printf 'bob\t1000\t1000\t%s\tbob\n' $PWD > index
MAILDIR=md IMAP_ACL=1 IMAP_SHAREDINDEXFILE=$PWD/index $IMAPD <<'IMAP'
a LIST "" "*"
b LIST "" "#shared.*"
c LIST "" "#shared.%"
d LIST "" "#shared.bob.%"
e MYRIGHTS #shared.bob.Public
f MYRIGHTS #shared.bob.Private
g MYRIGHTS #shared.bob.Nope
h GETACL #shared.bob.Public
i SELECT #shared.bob.Private
j STATUS #shared.bob.Private (MESSAGES)
k STATUS #shared.bob.Public (MESSAGES UNSEEN)
l SELECT #shared.bob.Public
m FETCH 1:* (FLAGS UID BODY[HEADER.FIELDS (SUBJECT)])
n STORE 2 +FLAGS (\Deleted)
o EXPUNGE
p EXAMINE #shared.bob.Ro
q FETCH 1 (FLAGS BODY.PEEK[])
r CREATE #shared.bob.Ro.Sub
s SUBSCRIBE #shared.bob.Public
t LSUB "" "*"
u LSUB "" "#shared.*"
v SELECT #shared.bob
w SELECT INBOX
x COPY 1 #shared.bob.Public
y STATUS #shared.bob.Public (MESSAGES)
z LOGOUT
IMAP
cat md/courierimapsubscribed
ls bob/.Public/cur | sed 's/^[^:]*//'
