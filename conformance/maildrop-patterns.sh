# maildrop patterns: header/body options, case sensitivity, MATCH and MATCHn, weighted
# scoring, =~, foreach over the message and over text, decoded and canonical headers, MIME
# parts (base64 text searched, attachments not), folded headers.
cat > rc <<'RC'
X=(/^S/)
echo "X=$X"
X=(/^Q/)
echo "X=$X"
X=(/b/:b)
echo "X=$X"
X=(/x/:b,2,3)
echo "X=$X"
X=(/^Subject:/:,5)
echo "X=$X"
X=(/b/:b,1,2)
echo "X=$X"
X=(/^F/:b)
echo "X=$X M=$MATCH"
X=(/^Q: (.*)$/)
echo "X=$X M1=[$MATCH1]"
X=(/^q: L/)
echo "X=$X"
X=(/^q: L/:D)
echo "X=$X"
X=("axb" =~ /x/)
echo "X=$X M=$MATCH"
X=("axb" =~ /x/:D,3)
echo "X=$X"
if (/^Subject: (.*)/)
{
  echo "S=$MATCH1"
}
if (/^Nope: (.*)/)
{
  echo "never"
}
echo "after a failed match: $MATCH / $MATCH1"
foreach /^[A-Z][a-z]+:/
{
  echo "F: $MATCH"
}
foreach ("a1 b2 c3" =~ /[a-z]([0-9])/)
{
  echo "G: $MATCH $MATCH1"
}
foreach /x+/:b
{
  echo "H: $MATCH"
}
foreach /^From: .*/
{
  echo "From header: $MATCH"
}
P="S"
if (/^$P:/)
  echo "pattern with a variable"
exit
RC
chmod 600 rc
printf 'S: x\nQ: long\n  fold\nSubject: =?iso-8859-1?q?caf=E9?= bar\nFrom: bob@x (Bob), "A" <a@b>, "J. Smith" <js@x>\n\nb\nFrom me\nbb\nx xx xxx\naxb\nx\n' | $MAILDROP ./rc; echo "exit $?"
cat > rc2 <<'RC'
foreach /.*/:hb
{
  echo "[$MATCH]"
}
exit
RC
chmod 600 rc2
printf 'Subject: t\nMime-Version: 1.0\nContent-Type: multipart/mixed; boundary="BB"\n\npreamble\n--BB\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\naGVsbG8gd29ybGQK\n--BB\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\naGVsbG8gd29ybGQK\n--BB\nContent-Type: text/html\n\n<p>x</p>\n--BB--\nepilogue\n' | $MAILDROP ./rc2; echo "exit $?"
