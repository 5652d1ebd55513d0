package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/imgraph/imgraph/engine"
)

// view shows a build as it runs: on a terminal a live block with one line
// per running bake; elsewhere one plain line per event.
type view struct {
	mu      sync.Mutex
	w       io.Writer
	root    string
	live    bool
	total   int
	done    map[string]bool
	running map[string]*runningLine
	drawn   int // lines of the live block on screen
	stop    chan struct{}
	stopped chan struct{}
}

type runningLine struct {
	label, action, region, phase string
	start                        time.Time
}

func newView(w io.Writer, root string) *view {
	v := &view{w: w, root: root, done: map[string]bool{}, running: map[string]*runningLine{}}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb" {
			v.live = true
			v.stop = make(chan struct{})
			v.stopped = make(chan struct{})
			go v.tick()
		}
	}
	return v
}

// tick redraws the live block so elapsed times move.
func (v *view) tick() {
	defer close(v.stopped)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-v.stop:
			return
		case <-t.C:
			v.mu.Lock()
			v.redraw()
			v.mu.Unlock()
		}
	}
}

func (v *view) close() {
	if v.live {
		close(v.stop)
		<-v.stopped
		v.mu.Lock()
		v.clear()
		v.mu.Unlock()
	}
}

// Event updates the view with one event of the build.
func (v *view) Event(e engine.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	id := e.Label + " " + e.Action + " " + e.Region
	var line string
	switch e.Type {
	case engine.EventBuildStart:
		v.total = e.Total
		return
	case engine.EventStart:
		v.running[id] = &runningLine{label: e.Label, action: e.Action, region: e.Region, phase: "starting", start: e.Time}
		line = fmt.Sprintf("%s %s in %s", verb(e.Action, false), e.Label, e.Region)
	case engine.EventPhase:
		if r := v.running[id]; r != nil {
			r.phase = e.Phase
		}
		line = fmt.Sprintf("%s: %s", e.Label, e.Phase)
	case engine.EventFinish:
		delete(v.running, id)
		if e.Action == engine.EventBake {
			v.done[e.Label] = true
		}
		line = fmt.Sprintf("%s %s in %s (%s)", verb(e.Action, true), e.Label, e.Region, time.Duration(e.ElapsedMS)*time.Millisecond)
	case engine.EventCached:
		v.done[e.Label] = true
		line = fmt.Sprintf("cached %s", e.Label)
	case engine.EventFail:
		delete(v.running, id)
		v.done[e.Label] = true
		line = fmt.Sprintf("FAILED %s %s in %s: %s", e.Action, e.Label, e.Region, firstLine(e.Error))
		if e.Log != "" {
			rel, _ := filepath.Rel(v.root, e.Log)
			line += " (log: " + rel + ")"
		}
	case engine.EventSkip:
		v.done[e.Label] = true
		for id, r := range v.running {
			if r.label == e.Label {
				delete(v.running, id) // a bake or copy the build stopped
			}
		}
		line = fmt.Sprintf("skipped %s: %s", e.Label, e.Error)
	case engine.EventImageDone:
		v.done[e.Label] = true
		return
	case engine.EventBuildFinish:
		return
	}
	if v.live {
		// Phases show in the live block; the rest scroll above it.
		if e.Type == engine.EventPhase || e.Type == engine.EventStart {
			v.redraw()
			return
		}
		v.clear()
		fmt.Fprintf(v.w, "%s %s\n", v.count(), line)
		v.draw()
		return
	}
	fmt.Fprintf(v.w, "%s %s\n", v.count(), line)
}

func (v *view) count() string { return fmt.Sprintf("[%d/%d]", len(v.done), v.total) }

func verb(action string, done bool) string {
	if done {
		return map[string]string{engine.EventBake: "baked", engine.EventCopy: "copied", engine.EventPublish: "published",
			engine.EventRetag: "retagged", engine.EventShare: "shared"}[action]
	}
	return map[string]string{engine.EventBake: "baking", engine.EventCopy: "copying", engine.EventPublish: "publishing",
		engine.EventRetag: "retagging", engine.EventShare: "sharing"}[action]
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func (v *view) redraw() {
	v.clear()
	v.draw()
}

// clear erases the live block.
func (v *view) clear() {
	if v.drawn > 0 {
		fmt.Fprintf(v.w, "\x1b[%dF\x1b[J", v.drawn)
		v.drawn = 0
	}
}

// draw prints the live block: the count, then one line per running bake.
func (v *view) draw() {
	lines := make([]*runningLine, 0, len(v.running))
	for _, r := range v.running {
		lines = append(lines, r)
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i].start.Before(lines[j].start) })
	fmt.Fprintf(v.w, "%s %d running\n", v.count(), len(lines))
	for _, r := range lines {
		fmt.Fprintf(v.w, "  %-40s %-7s %-14s %-28s %5.1fs\n", r.label, r.action, r.region, r.phase, time.Since(r.start).Seconds())
	}
	v.drawn = len(lines) + 1
}
