// Package mailbot implements Courier's mailbot(1) autoresponder: it reads a message, decides
// whether an autoreply may be sent (never to lists, bulk or junk mail, auto-submitted mail,
// delivery reports or the null sender), builds the reply from a text (-t) or MIME (-m)
// template and hands it to a mail-sending program on its standard input.
//
// The duplicate-suppression database (-d) is this implementation's own small text file, not
// Courier's GDBM file: one "unix-seconds address" line per sender. It is read and rewritten
// under an exclusive flock on "file.lock", and replaced atomically (temporary file, fsync,
// rename), so a crash leaves either the old or the new database.
package mailbot
