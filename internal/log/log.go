// Package log builds the slog loggers every component receives: text on stderr by default,
// JSON when LOGFORMAT=json. There is no package-level logger; callers pass theirs down.
package log

import (
	"io"
	"log/slog"
	"strings"
)

// LevelTrace is below Debug: protocol transcripts, with passwords redacted by the caller.
const LevelTrace = slog.Level(-8)

// New returns a logger writing to w in the given format ("text" or "json") at the given level
// name ("trace", "debug", "info", "warn", "error"; empty means info).
func New(w io.Writer, format, level string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: ParseLevel(level)}
	if strings.EqualFold(format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// ParseLevel maps a level name to a slog level; unknown names give Info.
func ParseLevel(s string) slog.Level {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "trace":
		return LevelTrace
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Discard is a logger that drops everything, for tests that do not look at logs.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
