// Package trace records spans of time and writes them in the Chrome trace
// event format, which Perfetto (ui.perfetto.dev) and chrome://tracing
// open: `imgraph build --profile FILE` shows where a build's time went, as
// Bazel's --profile does.
package trace

import (
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Trace collects spans; its methods are safe for concurrent use. Spans run
// in lanes (the format's threads): lane 0 is the command's own work, and
// spans that overlap each take the lowest lane free when they begin.
type Trace struct {
	mu     sync.Mutex
	start  time.Time
	events []event
	busy   []bool          // lanes in use, from lane 1
	open   map[string]*run // spans begun and not yet ended, by id
}

type run struct {
	lane  int
	name  string
	cat   string
	begin time.Time
	args  map[string]any
	inner *run // the span running inside it (a phase), if any
}

// event is one record of the format: a complete span (ph "X", times in
// microseconds since the trace began) or a lane's name (ph "M").
type event struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	TS   int64          `json:"ts"`
	Dur  int64          `json:"dur,omitempty"`
	PID  int            `json:"pid"`
	TID  int            `json:"tid"`
	Args map[string]any `json:"args,omitempty"`
}

// New starts a trace now.
func New() *Trace {
	return &Trace{start: time.Now(), open: map[string]*run{}}
}

// Span records the command's own work from now until the returned
// function is called.
func (t *Trace) Span(name string) (end func()) {
	begin := time.Now()
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.add(&run{lane: 0, name: name, cat: "imgraph", begin: begin}, time.Now())
	}
}

// Begin starts the span id (a bake, say) at at, in a lane of its own.
func (t *Trace) Begin(id, name, cat string, at time.Time, args map[string]any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.open[id] != nil {
		return
	}
	lane := 0
	for i, b := range t.busy {
		if !b {
			lane = i + 1
			break
		}
	}
	if lane == 0 {
		t.busy = append(t.busy, false)
		lane = len(t.busy)
	}
	t.busy[lane-1] = true
	t.open[id] = &run{lane: lane, name: name, cat: cat, begin: at, args: args}
}

// Phase ends the phase span id is in, if any, and begins the next one.
func (t *Trace) Phase(id, phase string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.open[id]
	if r == nil {
		return
	}
	if r.inner != nil {
		t.add(r.inner, at)
	}
	r.inner = &run{lane: r.lane, name: phase, cat: "phase", begin: at}
}

// End ends the span id (and its phase) at at, with what args say of how.
func (t *Trace) End(id string, at time.Time, args map[string]any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.open[id]
	if r == nil {
		return
	}
	delete(t.open, id)
	if r.inner != nil {
		t.add(r.inner, at)
	}
	for k, v := range args {
		if r.args == nil {
			r.args = map[string]any{}
		}
		r.args[k] = v
	}
	t.add(r, at)
	t.busy[r.lane-1] = false
}

func (t *Trace) add(r *run, end time.Time) {
	t.events = append(t.events, event{Name: r.name, Cat: r.cat, Ph: "X", PID: 1, TID: r.lane,
		TS: r.begin.Sub(t.start).Microseconds(), Dur: max(end.Sub(r.begin).Microseconds(), 1), Args: r.args})
}

// WriteFile writes the trace to path, spans still open ending now.
func (t *Trace) WriteFile(path string) error {
	t.mu.Lock()
	open := slices.Collect(maps.Keys(t.open))
	t.mu.Unlock()
	now := time.Now()
	for _, id := range open {
		t.End(id, now, map[string]any{"ended": "when the command did"})
	}
	t.mu.Lock()
	events := []event{{Name: "thread_name", Ph: "M", PID: 1, TID: 0, Args: map[string]any{"name": "imgraph"}}}
	for lane := range t.busy {
		events = append(events, event{Name: "thread_name", Ph: "M", PID: 1, TID: lane + 1, Args: map[string]any{"name": "lane " + strconv.Itoa(lane+1)}})
	}
	events = append(events, t.events...)
	t.mu.Unlock()
	data, err := json.Marshal(struct {
		TraceEvents     []event `json:"traceEvents"`
		DisplayTimeUnit string  `json:"displayTimeUnit"`
	}{events, "ms"})
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
