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
	EventCached      = "cached"     // an image's key is already baked
	EventStart       = "start"      // a bake, copy or publish begins
	EventPhase       = "phase"      // a running bake enters a phase
	EventFinish      = "finish"     // a bake, copy or publish ends well
	EventFail        = "fail"       // a bake, copy or publish failed
	EventSkip        = "skipped"    // not attempted: a parent failed or the build stopped
	EventImageDone   = "image_done" // an image's work is over, whatever became of it
	EventBuildFinish = "build_finish"
)

// EventsSchema is the version of the events' format, in build_start's
// schema_version: it grows when a field changes meaning or goes away, not
// when one is added. docs/schemas/events.schema.json describes it.
const EventsSchema = 1

// Actions of start, phase, finish and fail events.
const (
	EventBake    = "bake"    // an image baked (and tested, if it has tests) in the home region
	EventTest    = "test"    // an image baked before tested again in the home region
	EventCopy    = "copy"    // copied to another region
	EventPublish = "publish" // a new image given its tags, shares and SSM parameter in a region
	EventRetag   = "retag"   // an image baked before given its tags (and description) again
	EventShare   = "share"   // an image baked before shared, or its SSM parameter published
)

// Event is one thing that happened during a build. `--events FILE` writes
// them as JSON lines; the terminal views draw them.
type Event struct {
	Time      time.Time `json:"time"`
	Type      string    `json:"type"`
	Label     string    `json:"label,omitempty"`
	Key       string    `json:"key,omitempty"`
	Action    string    `json:"action,omitempty"` // bake, test, copy, publish, retag, share
	Region    string    `json:"region,omitempty"`
	Phase     string    `json:"phase,omitempty"`
	Image     string    `json:"image,omitempty"`
	Error     string    `json:"error,omitempty"`
	Log       string    `json:"log,omitempty"`
	ElapsedMS int64     `json:"elapsed_ms,omitempty"`
	Done      int       `json:"done,omitempty"`  // images finished so far
	Total     int       `json:"total,omitempty"` // images in the build

	// build_start says what ran.
	SchemaVersion int      `json:"schema_version,omitempty"`
	RunID         string   `json:"run_id,omitempty"`
	Command       []string `json:"command,omitempty"`
	Workspace     string   `json:"workspace,omitempty"`
	Version       string   `json:"version,omitempty"`
	Platform      string   `json:"platform,omitempty"`

	// build_finish says how it ended: the exit code imgraph ends with
	// for it, and the images by what became of them (bake, test, copy,
	// share, retag, cached, failed, skipped).
	ExitCode *int           `json:"exit_code,omitempty"`
	Counts   map[string]int `json:"counts,omitzero"` // {} for a build of nothing
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
