package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/imgraph/imgraph/engine"
)

// Plain lines carry the time of their event unless --timestamps=false,
// and colours only when asked for: never by default off a terminal.
func TestPlainView(t *testing.T) {
	at := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	events := []engine.Event{
		{Type: engine.EventBuildStart, Total: 2, Time: at},
		{Type: engine.EventStart, Label: "//a:a", Action: engine.EventBake, Region: "us-east-1", Time: at},
		{Type: engine.EventFinish, Label: "//a:a", Action: engine.EventBake, Region: "us-east-1", ElapsedMS: 1500, Time: at.Add(2 * time.Second)},
		{Type: engine.EventImageDone, Label: "//a:a", Done: 1, Total: 2, Time: at.Add(2 * time.Second)},
		{Type: engine.EventFail, Label: "//b:b", Action: engine.EventBake, Region: "us-east-1", Error: "exit 1", Time: at.Add(3 * time.Second)},
	}
	show := func(o viewOptions) string {
		var out bytes.Buffer
		v := newView(&out, "/ws", o)
		for _, e := range events {
			v.Event(e)
		}
		v.close()
		return out.String()
	}
	got := show(viewOptions{progress: "auto", color: "auto", timestamps: true})
	want := "2026-11-30T08:00:00Z [0/2] baking //a:a in us-east-1\n" +
		"2026-11-30T08:00:02Z [0/2] baked //a:a in us-east-1 (1.5s)\n" +
		"2026-11-30T08:00:03Z [1/2] FAILED bake //b:b in us-east-1: exit 1\n"
	if got != want {
		t.Errorf("plain view:\n%s\nwant:\n%s", got, want)
	}
	if got := show(viewOptions{progress: "plain", color: "auto"}); strings.Contains(got, "2026-") || strings.Contains(got, "\x1b[") {
		t.Errorf("--timestamps=false, colour auto off a terminal:\n%q", got)
	}
	if got := show(viewOptions{progress: "plain", color: "yes"}); !strings.Contains(got, red+"FAILED"+reset) || !strings.Contains(got, green+"baked"+reset) {
		t.Errorf("--color=yes:\n%q", got)
	}
}

// Lines are measured in terminal columns: a wide character takes two.
func TestFitCountsColumns(t *testing.T) {
	for _, c := range []struct {
		name  string
		cut   func(string, int) string
		s     string
		width int
		want  string
	}{
		{"fit", fit, "abcdef", 4, "abc…"},
		{"fit", fit, "abc", 4, "abc"},
		{"fit", fit, "日本語テキスト", 7, "日本語…"},
		{"elide", elide, "//a/b/c:name", 8, "…/c:name"},
		{"elide", elide, "//チーム:名前", 6, "…:名前"},
		{"elide", elide, "//a:bcd", 1, "d"},
	} {
		if got := c.cut(c.s, c.width); got != c.want {
			t.Errorf("%s(%q, %d) = %q, want %q", c.name, c.s, c.width, got, c.want)
		}
	}
}
