package log

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestFormats(t *testing.T) {
	var b bytes.Buffer
	New(&b, "json", "info").Info("session", "conn", "c1")
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil || m["conn"] != "c1" || m["msg"] != "session" {
		t.Fatalf("json log %q: %v", b.String(), err)
	}
	b.Reset()
	New(&b, "", "").Info("session", "conn", "c2")
	if !strings.Contains(b.String(), "msg=session conn=c2") {
		t.Fatalf("text log %q", b.String())
	}
	b.Reset()
	New(&b, "text", "warn").Info("hidden")
	if b.Len() != 0 {
		t.Fatalf("info logged at warn level: %q", b.String())
	}
	if ParseLevel("trace") != LevelTrace || ParseLevel("bogus").String() != "INFO" {
		t.Fatal("ParseLevel")
	}
}
