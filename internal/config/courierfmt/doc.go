// Package courierfmt reads Courier's configuration file formats the way
// Courier itself (its shell start-up scripts, sysconftool, authlib and the
// make* tools) reads them:
//
//   - shell-style NAME=value files (imapd, esmtpd, courierd, authdaemonrc, ...),
//     parsed by [ParseEnv] and [LoadEnv];
//   - authlib's "NAME value" files (authldaprc, authmysqlrc, authpgsqlrc,
//     authsqliterc), parsed by [ParseAuthRC] and [LoadAuthRC];
//   - one-item-per-line control files (locals, hosteddomains, aliases, ...),
//     which may instead be a directory of plain files read in name order,
//     read by [ReadControl] and [ParseControl];
//   - one-value files (me, defaultdomain, queuetime), read by [ReadFirstLine].
//
// Every value and line keeps the file and line number it came from, and every
// error reads "file:line: what is wrong". Input is bounded: no physical line
// or statement may exceed [MaxLine] bytes and the expanded values of one env
// file may not exceed [MaxExpanded] bytes, so hostile input gives a clean
// error rather than exhausting memory. Only regular files are read, so a FIFO
// or device where a file is expected is an error instead of a hang.
//
// The package holds no mutable state and is safe for concurrent use.
package courierfmt
