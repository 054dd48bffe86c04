# maildiracl: defaults, inheritance (saved on first read), set/+/-, negative rights, delete,
# compute, hierarchy-node ACLs in courierimaphieracl/, the owner's "a", errors; and the files.
mkdir -p md/tmp md/new md/cur md/.Sent/tmp md/.Sent/new md/.Sent/cur md/.Sent.2024/tmp md/.Sent.2024/new md/.Sent.2024/cur
touch md/.Sent/maildirfolder md/.Sent.2024/maildirfolder
show() { for f in md/courierimapacl md/.*/courierimapacl md/courierimaphieracl/*; do [ -f "$f" ] && { echo "== $f"; cat "$f"; }; done; }
$MAILDIRACL -list md INBOX; echo "rc=$?"
$MAILDIRACL -list md INBOX.Sent; echo "rc=$?"
show
$MAILDIRACL -set md INBOX.Sent user=john lr; echo "rc=$?"
$MAILDIRACL -set md INBOX.Sent anyone -r; echo "rc=$?"
$MAILDIRACL -set md INBOX.Sent -user=tom +r; echo "rc=$?"
$MAILDIRACL -set md INBOX.Sent user=a wrl; $MAILDIRACL -set md INBOX.Sent user=b dk; $MAILDIRACL -set md INBOX.Sent user=d xxaa
$MAILDIRACL -set md INBOX.Sent group=staff +cd; $MAILDIRACL -set md INBOX.Sent user=e ''
$MAILDIRACL -set md INBOX.Sent user=a +e; $MAILDIRACL -set md INBOX.Sent user=a -lq
$MAILDIRACL -list md INBOX.Sent
show
$MAILDIRACL -compute md INBOX.Sent owner user=tom
$MAILDIRACL -compute md INBOX.Sent user=john
$MAILDIRACL -compute md INBOX.Sent user=tom
$MAILDIRACL -compute md INBOX.Sent user=a group=staff
$MAILDIRACL -compute md INBOX.Sent administrators
$MAILDIRACL -compute md INBOX.Sent group=administrators
$MAILDIRACL -delete md INBOX.Sent user=john; echo "rc=$?"
$MAILDIRACL -delete md INBOX.Sent -user=tom; echo "rc=$?"
$MAILDIRACL -delete md INBOX.Sent nobody; echo "rc=$?"
$MAILDIRACL -list md INBOX.Sent
# the owner keeps "a"; administrators can't be changed
$MAILDIRACL -set md INBOX.Sent owner lr 2>/dev/null; echo "rc=$?"
$MAILDIRACL -set md INBOX.Sent owner -a 2>/dev/null; echo "rc=$?"
$MAILDIRACL -set md INBOX.Sent -owner a 2>/dev/null; echo "rc=$?"
$MAILDIRACL -set md INBOX.Sent -anyone a 2>/dev/null; echo "rc=$?"
$MAILDIRACL -set md INBOX.Sent owner '' 2>/dev/null; echo "rc=$?"
$MAILDIRACL -delete md INBOX.Sent owner 2>/dev/null; echo "rc=$?"
$MAILDIRACL -set md INBOX.Sent administrators lr 2>/dev/null; echo "rc=$?"
$MAILDIRACL -set md INBOX.Sent -administrators r 2>/dev/null; echo "rc=$?"
$MAILDIRACL -delete md INBOX.Sent administrators 2>/dev/null; echo "rc=$?"
$MAILDIRACL -set md INBOX.Sent group=administrators r; echo "rc=$?"
$MAILDIRACL -set md INBOX owner al; echo "rc=$?"
$MAILDIRACL -set md INBOX owner +x; echo "rc=$?"
$MAILDIRACL -set md INBOX anonymous lr; $MAILDIRACL -set md INBOX -group=bad l; $MAILDIRACL -set md INBOX group=staff w
$MAILDIRACL -compute md INBOX user=z; $MAILDIRACL -compute md INBOX user=z group=staff; $MAILDIRACL -compute md INBOX user=z group=staff group=bad
$MAILDIRACL -compute md INBOX owner
show
# inheritance: an existing folder without a file, hierarchy nodes without a folder
$MAILDIRACL -list md INBOX.Sent.2024
$MAILDIRACL -set md INBOX.Nope user=x lr; echo "rc=$?"
$MAILDIRACL -list md INBOX.Nope
$MAILDIRACL -set md INBOX.Sent.X.Y user=v r; echo "rc=$?"
$MAILDIRACL -list md INBOX.Sent.X
ls md/courierimaphieracl
show
$MAILDIRACL -reset md; echo "reset rc=$?"
ls md/courierimaphieracl
# errors and usage
$MAILDIRACL; echo "rc=$?"
$MAILDIRACL -list; echo "rc=$?"
$MAILDIRACL -list md; echo "rc=$?"
$MAILDIRACL -bogus md INBOX; echo "rc=$?"
$MAILDIRACL -set md INBOX.Sent user=z; echo "rc=$?"
$MAILDIRACL -delete md INBOX.Sent; echo "rc=$?"
$MAILDIRACL -compute md INBOX; echo "rc=$?"
$MAILDIRACL -list md Sent 2>/dev/null; echo "rc=$?"
$MAILDIRACL -list md inbox.Sent 2>/dev/null; echo "rc=$?"
$MAILDIRACL -list md INBOX.a..b 2>/dev/null; echo "rc=$?"
# (Courier saves an inherited ACL for the node INBOX.a before it refuses INBOX.a..b: a bug, not compared)
rm -f md/courierimaphieracl/a
$MAILDIRACL -list md INBOX.x/y 2>/dev/null; echo "rc=$?"
$MAILDIRACL -set md INBOX.Sent 'user=a b' r 2>/dev/null; echo "rc=$?"
$MAILDIRACL -set md INBOX.Sent '' r 2>/dev/null; echo "rc=$?"
$MAILDIRACL -set md INBOX.Sent user=z r extra; echo "rc=$?"
$MAILDIRACL -list md INBOX.Sent extra; echo "rc=$?"
$MAILDIRACL -list nodir INBOX; echo "rc=$?"
show
