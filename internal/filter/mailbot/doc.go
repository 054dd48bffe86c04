// Package mailbot implements Courier's mailbot(1) autoresponder: it reads a message, decides
// whether an autoreply may be sent (never to lists, bulk or junk mail, auto-submitted mail,
// delivery reports or the null sender), builds the reply from a text (-t) or MIME (-m)
// template and hands it to a mail-sending program on its standard input.
//
// The reply formats (-T) are Courier's: reply and replyall quote the original's first
// text/plain part; replydsn (made by -M) is a multipart/report delivery-status; feedback and
// replyfeedback (-R, --feedback-*) are RFC 5965 feedback reports; forward copies the original's
// text and attachments, forwardatt attaches it as message/rfc822; replydraft (-l) takes the
// text from the newest message of a maildir. The output follows Debian's mailbot byte for byte
// where it could be checked (conformance/mailbot-formats.sh), including where it departs from
// the manual page: no Feedback-Type field, "Re: " kept on a feedback's subject, no
// Mime-Version header in a replydraft.
//
// The duplicate-suppression database (-d) is this implementation's own small text file, not
// Courier's GDBM file: one "unix-seconds address" line per sender. It is read and rewritten
// under an exclusive flock on "file.lock", and replaced atomically (temporary file, fsync,
// rename), so a crash leaves either the old or the new database.
package mailbot
