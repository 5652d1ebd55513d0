package engine

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Event types a build reports, in the order they can happen.
const (
	EventBuildStart  = "build_start"
	EventCached      = "cached"  // an image's key is already baked
	EventStart       = "start"   // a bake, copy or publish begins
	EventPhase       = "phase"   // a running bake enters a phase
	EventFinish      = "finish"  // a bake, copy or publish ends well
	EventFail        = "fail"    // a bake, copy or publish failed
	EventSkip        = "skipped" // not attempted: a parent failed or the build stopped
	EventBuildFinish = "build_finish"
)

// Event is one thing that happened during a build. `--events FILE` writes
// them as JSON lines; the terminal views draw them.
type Event struct {
	Time      time.Time `json:"time"`
	Type      string    `json:"type"`
	Label     string    `json:"label,omitempty"`
	Key       string    `json:"key,omitempty"`
	Action    string    `json:"action,omitempty"` // bake, copy, publish
	Region    string    `json:"region,omitempty"`
	Phase     string    `json:"phase,omitempty"`
	Image     string    `json:"image,omitempty"`
	Error     string    `json:"error,omitempty"`
	Log       string    `json:"log,omitempty"`
	ElapsedMS int64     `json:"elapsed_ms,omitempty"`
	Done      int       `json:"done,omitempty"`  // images finished so far
	Total     int       `json:"total,omitempty"` // images in the build
}

// Observer receives a build's events, one at a time.
type Observer interface {
	Event(Event)
}

// ObserverFunc adapts a function to an Observer.
type ObserverFunc func(Event)

// Event calls f.
func (f ObserverFunc) Event(e Event) { f(e) }

// Observers fans events out to several observers.
type Observers []Observer

// Event passes e to every observer.
func (os Observers) Event(e Event) {
	for _, o := range os {
		o.Event(e)
	}
}

// JSONLines writes every event as one line of JSON.
type JSONLines struct {
	mu  sync.Mutex
	enc *json.Encoder
	err error
}

// NewJSONLines writes events to w.
func NewJSONLines(w io.Writer) *JSONLines { return &JSONLines{enc: json.NewEncoder(w)} }

// Event writes e; the first write error is kept for Err.
func (j *JSONLines) Event(e Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err == nil {
		j.err = j.enc.Encode(e)
	}
}

// Err is the first error writing an event.
func (j *JSONLines) Err() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}
