# maildrop filter-file mode: arithmetic and number formatting, text comparisons, logical
# operators, unquoted text after '=', functions (length, substr, toupper, tolower, escape,
# getaddr, hasaddr), echo escapes, variable substitution and command-line arguments.
cat > rc <<'RC'
DEFAULT="./nowhere"
N=1/3
echo "N=$N"
N=2.5*2
echo "N=$N"
N=100000*100000
echo "N=$N"
N=0.1+0.2
echo "N=$N"
N=(1) / (3)
echo "N=$N"
N=1000000000*1000000000*1000000000*1000
echo "N=$N"
N="12abc"+1
echo "N=$N"
N=" 3"+1
echo "N=$N"
N=0x10+1
echo "N=$N"
N=5|2
echo "N=$N"
N= ~0
echo "N=$N"
N=6&3
echo "N=$N"
N=!0
echo "N=$N"
N=3<4
echo "N=$N"
N="b" lt "a"
echo "N=$N"
N="10" lt "9"
echo "N=$N"
N=0 || "x"
echo "N=$N"
N="" && 2
echo "N=[$N]"
N=1 + 2 * 3
echo "N=$N"
N=2 - -3
echo "N=$N"
N=length("hello")
echo "N=$N"
N=substr("hello",1,3)
echo "N=$N"
N=substr("hello",2)
echo "N=$N"
N=toupper("abc")
echo "N=$N"
N=tolower("XyZ")
echo "N=$N"
N=escape("a.b*c")
L=length($N)
echo "L=$L"
N=getaddr("joe@domain.com (Joe Brown), \"Alex Smith\" <alex@domain.com>, tom@domain.com")
echo "N=[$N]"
N=hasaddr("J@X")
echo "has=$N"
N=hasaddr("zz@x")
echo "has=$N"
echo "a\nb\tc\101\0101"
echo "no newline\c"
echo "next"
echo "x" "y" 'z' after $1
V="${N}x $ $1 ${1} $1x |"
echo $V
X=getaddr "a@b"
echo "[$X]"
exit
RC
chmod 600 rc
printf 'Subject: x\nTo: "Smith, J" <j@x>\n\nbody\n' | $MAILDROP ./rc arg1 arg2; echo "exit $?"
