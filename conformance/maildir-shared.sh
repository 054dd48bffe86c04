# Filesystem-permission shared folders: maildirmake -S, -s read|write[,group] -f, --add, --del,
# and the shared-maildirs file they leave (paths printed relative to the scenario folder).
list() { find "$@" -printf '%m %y %p\n' | sort -k3; }
here=$PWD
$MAILDIRMAKE -S notices; echo "sharable exit $?"
$MAILDIRMAKE -s write -f Weekly notices; echo "write exit $?"
$MAILDIRMAKE -s read -f News notices; echo "read exit $?"
$MAILDIRMAKE -s write,group -f Team notices; echo "write,group exit $?"
$MAILDIRMAKE -s read,group -f Staff notices; echo "read,group exit $?"
$MAILDIRMAKE -s bogus -f Other notices; echo "unknown mode exit $?"
$MAILDIRMAKE -s write notices; echo "-s without -f exit $?"
$MAILDIRMAKE -S -f Plain notices; echo "-S -f exit $?"
$MAILDIRMAKE -s write -q 100S -f Quota notices; echo "-s write -q exit $?"
$MAILDIRMAKE -s write -f Weekly notices 2>/dev/null; echo "again exit $?"
(umask 077; $MAILDIRMAKE -s write -f Umask notices); echo "umask ignored exit $?"
list notices
echo "--- attach"
$MAILDIRMAKE md
$MAILDIRMAKE --add notices=$here/notices md; echo "add exit $?"
cat md/shared-maildirs | sed "s|$here|HERE|"
$MAILDIRMAKE --add notices=$here/notices md 2>/dev/null; echo "add twice exit $?"
$MAILDIRMAKE --add 'a.b'=$here/notices md 2>/dev/null; echo "dot in nick exit $?"
$MAILDIRMAKE --add 'a/b'=$here/notices md 2>/dev/null; echo "slash in nick exit $?"
$MAILDIRMAKE --add rel=notices md; echo "relative path exit $?"
$MAILDIRMAKE --add nopath md; echo "no = exit $?"
$MAILDIRMAKE --add gone=$here/nonexistent md 2>/dev/null; echo "missing path exit $?"
$MAILDIRMAKE --add x=$here/notices nomd 2>/dev/null; echo "missing maildir exit $?"
$MAILDIRMAKE --add other=$here/notices md; echo "second exit $?"
$MAILDIRMAKE --add 'with space'=$here/notices md; echo "space exit $?"
$MAILDIRMAKE --add third=$here/notices --del other md; echo "add wins over del exit $?"
cat md/shared-maildirs | sed "s|$here|HERE|"
$MAILDIRMAKE --del other md; echo "del exit $?"
$MAILDIRMAKE --del other md 2>/dev/null; echo "del again exit $?"
$MAILDIRMAKE --del x nomd 2>/dev/null; echo "del missing maildir exit $?"
cat md/shared-maildirs | sed "s|$here|HERE|"
$MAILDIRMAKE --del notices md; $MAILDIRMAKE --del third md; $MAILDIRMAKE --del 'with space' md
echo "after deleting all:"; sed "s|$here|HERE|" md/shared-maildirs
list md
