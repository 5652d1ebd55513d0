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

	"github.com/mattn/go-runewidth"
	"golang.org/x/term"

	"github.com/imgraph/imgraph/engine"
)

// viewOptions are the flags that shape the view: --progress, --color and
// --timestamps, and the environment's NO_COLOR and TERM.
type viewOptions struct {
	progress   string // auto, tty or plain
	color      string // auto, yes or no
	timestamps bool   // plain lines start with the time
	noColor    bool   // NO_COLOR is set
	dumb       bool   // TERM=dumb
}

// view shows a build as it runs: on a terminal, a live block of the
// running bakes under the lines of what finished; elsewhere one plain
// line per event, with its time.
type view struct {
	mu         sync.Mutex
	w          io.Writer
	root       string
	live       bool
	color      bool
	timestamps bool
	size       func() (width, height int)
	start      time.Time
	total      int
	done       map[string]bool
	running    map[string]*runningLine
	drawn      int // lines of the live block on screen
	stop       chan struct{}
	stopped    chan struct{}
	closeOnce  sync.Once
}

type runningLine struct {
	label, action, region, phase string
	start                        time.Time
}

// Colours, as SGR codes.
const (
	red   = "\x1b[31m"
	green = "\x1b[32m"
	reset = "\x1b[0m"
)

func newView(w io.Writer, root string, o viewOptions) *view {
	v := &view{w: w, root: root, start: time.Now(), timestamps: o.timestamps,
		done: map[string]bool{}, running: map[string]*runningLine{}}
	f, isFile := w.(*os.File)
	tty := isFile && term.IsTerminal(int(f.Fd())) && !o.dumb
	v.live = o.progress == "tty" || o.progress == "auto" && tty
	v.color = o.color == "yes" || o.color == "auto" && tty && !o.noColor
	v.size = func() (int, int) { return 80, 24 }
	if isFile && tty {
		// Asked at each draw, so a resized terminal is followed.
		v.size = func() (int, int) {
			if width, height, err := term.GetSize(int(f.Fd())); err == nil && width > 0 && height > 0 {
				return width, height
			}
			return 80, 24
		}
	}
	if v.live {
		v.stop = make(chan struct{})
		v.stopped = make(chan struct{})
		go v.tick()
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

// close stops the live block and erases it; it may be called again.
func (v *view) close() {
	v.closeOnce.Do(func() {
		if v.live {
			close(v.stop)
			<-v.stopped
			v.mu.Lock()
			v.clear()
			v.mu.Unlock()
		}
	})
}

// warn wraps a warning printer: while the live block is on screen, a
// warning is printed above it, not under it where the next redraw would
// erase it.
func (v *view) warn(print func(format string, args ...any)) func(format string, args ...any) {
	return func(format string, args ...any) {
		v.mu.Lock()
		defer v.mu.Unlock()
		live := v.live && v.drawn > 0
		if live {
			v.clear()
		}
		print(format, args...)
		if live {
			v.draw()
		}
	}
}

// Event updates the view with one event of the build.
func (v *view) Event(e engine.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	id := e.Label + " " + e.Action + " " + e.Region
	var verb, rest, colour string
	switch e.Type {
	case engine.EventBuildStart:
		v.total = e.Total
		return
	case engine.EventStart:
		v.running[id] = &runningLine{label: e.Label, action: e.Action, region: e.Region, phase: "starting", start: e.Time}
		verb, rest = verbOf(e.Action, false), fmt.Sprintf("%s in %s", e.Label, e.Region)
	case engine.EventPhase:
		if r := v.running[id]; r != nil {
			r.phase = e.Phase
		}
		verb, rest = e.Label+":", e.Phase
	case engine.EventFinish:
		delete(v.running, id)
		verb, colour = verbOf(e.Action, true), green
		rest = fmt.Sprintf("%s in %s (%s)", e.Label, e.Region, time.Duration(e.ElapsedMS)*time.Millisecond)
	case engine.EventCached:
		verb, rest, colour = "cached", e.Label, green
	case engine.EventFail:
		delete(v.running, id)
		verb, colour = "FAILED", red
		rest = fmt.Sprintf("%s %s in %s: %s", e.Action, e.Label, e.Region, firstLine(e.Error))
		if e.Log != "" {
			rel, _ := filepath.Rel(v.root, e.Log)
			rest += " (log: " + rel + ")"
		}
	case engine.EventSkip:
		for id, r := range v.running {
			if r.label == e.Label {
				delete(v.running, id) // a bake or copy the build stopped
			}
		}
		verb, rest = "skipped", e.Label+": "+e.Error
	case engine.EventImageDone:
		v.done[e.Label] = true
		if v.live {
			v.redraw()
		}
		return
	default:
		return
	}
	if !v.live {
		prefix := ""
		if v.timestamps {
			prefix = e.Time.UTC().Format(time.RFC3339) + " "
		}
		fmt.Fprintf(v.w, "%s%s %s\n", prefix, v.count(), v.paint(verb+" "+rest, len(verb), colour))
		return
	}
	// Phases and starts show in the live block; the rest scroll above it.
	if e.Type == engine.EventPhase || e.Type == engine.EventStart {
		v.redraw()
		return
	}
	width, _ := v.size()
	count := v.count() + " "
	line := fit(verb+" "+rest, width-len(count))
	v.clear()
	fmt.Fprintf(v.w, "%s%s\n", count, v.paint(line, min(len(verb), len(line)), colour))
	v.draw()
}

// paint colours the first n bytes of line (its verb), when colours are on.
func (v *view) paint(line string, n int, colour string) string {
	if !v.color || colour == "" || n == 0 {
		return line
	}
	return colour + line[:n] + reset + line[n:]
}

func (v *view) count() string { return fmt.Sprintf("[%d/%d]", len(v.done), v.total) }

func verbOf(action string, done bool) string {
	if done {
		return map[string]string{engine.EventBake: "baked", engine.EventTest: "tested", engine.EventCopy: "copied",
			engine.EventPublish: "published", engine.EventRetag: "retagged", engine.EventShare: "shared"}[action]
	}
	return map[string]string{engine.EventBake: "baking", engine.EventTest: "testing", engine.EventCopy: "copying",
		engine.EventPublish: "publishing", engine.EventRetag: "retagging", engine.EventShare: "sharing"}[action]
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// fit cuts s to at most width columns of a terminal (a wide character
// takes two), ending it with "…" when cut.
func fit(s string, width int) string {
	if runewidth.StringWidth(s) <= width {
		return s
	}
	if width <= 1 {
		return runewidth.Truncate(s, max(width, 0), "")
	}
	return runewidth.Truncate(s, width, "…")
}

// elide cuts a label to width columns from the front, where the package
// path is: the name at its end is what tells bakes apart.
func elide(label string, width int) string {
	if runewidth.StringWidth(label) <= width {
		return label
	}
	r := []rune(label)
	w, i := 0, len(r)
	for i > 0 && w+runewidth.RuneWidth(r[i-1]) <= width-1 {
		i--
		w += runewidth.RuneWidth(r[i])
	}
	if width <= 1 {
		// No room for "…": the last character, if it fits.
		if last := r[len(r)-1]; width == 1 && runewidth.RuneWidth(last) == 1 {
			return string(last)
		}
		return ""
	}
	return "…" + string(r[i:])
}

// pad fills s with spaces to width columns.
func pad(s string, width int) string {
	return s + strings.Repeat(" ", max(width-runewidth.StringWidth(s), 0))
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

// draw prints the live block within the terminal: a line of the count,
// what runs and the time so far, then a line per running bake, copy or
// publish, as many as fit ("and N more" for the rest). No line is longer
// than the terminal is wide, so none wraps, and the block is never
// taller than the terminal, so it can always be erased.
func (v *view) draw() {
	width, height := v.size()
	lines := make([]*runningLine, 0, len(v.running))
	for _, r := range v.running {
		lines = append(lines, r)
	}
	sort.Slice(lines, func(i, j int) bool {
		if !lines[i].start.Equal(lines[j].start) {
			return lines[i].start.Before(lines[j].start)
		}
		return lines[i].label < lines[j].label
	})
	room := max(height-2, 1) // the header, and the cursor's line below the block
	more := 0
	if len(lines) > room {
		more = len(lines) - (room - 1)
		lines = lines[:room-1]
	}
	header := fmt.Sprintf("%s %d running, %s", v.count(), len(v.running), time.Since(v.start).Round(time.Second))
	fmt.Fprintln(v.w, fit(header, width))
	for _, r := range lines {
		fmt.Fprintln(v.w, runningText(r, width))
	}
	if more > 0 {
		fmt.Fprintln(v.w, fit(fmt.Sprintf("  and %d more", more), width))
	}
	v.drawn = 1 + len(lines) + min(more, 1)
}

// runningText is one running line within width: the label and the phase
// share what the action, region and time leave, the label cut from the
// front and the phase at its end.
func runningText(r *runningLine, width int) string {
	elapsed := fmt.Sprintf(" %5.1fs", time.Since(r.start).Seconds())
	middle := fmt.Sprintf(" %-9s %-14s ", r.action, r.region)
	avail := width - 2 - len(middle) - len(elapsed)
	if avail < 24 {
		// A narrow terminal: the label and the time.
		return fit("  "+elide(r.label, max(width-2-len(elapsed), 1))+elapsed, width)
	}
	labelW := min(runewidth.StringWidth(r.label), max(avail/2, 12))
	phaseW := avail - labelW
	return fit("  "+pad(elide(r.label, labelW), labelW)+middle+pad(fit(r.phase, phaseW), phaseW)+elapsed, width)
}

// terminalWidth is the width of the terminal w writes to, or 0 when it
// writes to something else.
func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return width
}
