package trace

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Spans that overlap take lanes of their own; a phase ends where the next
// begins; a span still open ends with the trace; the file is the format's.
func TestTrace(t *testing.T) {
	tr := New()
	at := func(ms int) time.Time { return tr.start.Add(time.Duration(ms) * time.Millisecond) }
	tr.Span("load")()
	tr.Begin("a", "bake //a:a", "bake", at(10), map[string]any{"region": "r"})
	tr.Begin("b", "bake //b:b", "bake", at(20), nil)
	tr.Phase("a", "provision", at(30))
	tr.Phase("a", "capture", at(50))
	tr.End("a", at(60), map[string]any{"image": "img-1"})
	tr.Begin("c", "bake //c:c", "bake", at(70), nil) // takes a's lane
	path := filepath.Join(t.TempDir(), "trace.json")
	if err := tr.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ TraceEvents []event }
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	got := map[string]event{}
	for _, e := range out.TraceEvents {
		if e.Ph == "X" {
			got[e.Name] = e
		}
	}
	want := map[string]struct {
		tid     int
		ts, dur int64
	}{
		"bake //a:a": {1, 10000, 50000},
		"provision":  {1, 30000, 20000},
		"capture":    {1, 50000, 10000},
		"bake //b:b": {2, 20000, -1},
		"bake //c:c": {1, 70000, -1},
	}
	for name, w := range want {
		e, ok := got[name]
		if !ok || e.TID != w.tid || e.TS != w.ts || w.dur >= 0 && e.Dur != w.dur {
			t.Errorf("%s: %+v, want lane %d at %dµs for %dµs", name, e, w.tid, w.ts, w.dur)
		}
	}
	if got["bake //a:a"].Args["image"] != "img-1" || got["bake //b:b"].Args["ended"] == nil {
		t.Errorf("args: %v, %v", got["bake //a:a"].Args, got["bake //b:b"].Args)
	}
	if _, ok := got["load"]; !ok {
		t.Error("no load span")
	}
}
