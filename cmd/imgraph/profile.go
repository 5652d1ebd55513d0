package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"

	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/internal/trace"
)

// startCPUProfile profiles the command into path until stop is called.
func startCPUProfile(path string) (stop func() error, err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, usagef("--cpu-profile: %v", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

// span times a step of the command for --profile; it does nothing without.
func (o *options) span(step string) (end func()) {
	if o.trace == nil {
		return func() {}
	}
	return o.trace.Span(step)
}

// writeTrace writes the --profile trace, if one was asked for.
func (o *options) writeTrace(e *env) error {
	if o.trace == nil {
		return nil
	}
	path := o.traceFile
	if !filepath.IsAbs(path) {
		path = filepath.Join(e.dir, path)
	}
	if err := o.trace.WriteFile(path); err != nil {
		return usagef("--profile %s: %v", o.traceFile, err)
	}
	return nil
}

// traceEvents draws a build's events into the trace: each bake, copy and
// publish a span in a lane of its own, its phases spans within it.
type traceEvents struct{ t *trace.Trace }

func (te traceEvents) Event(e engine.Event) {
	id := e.Label + " " + e.Action + " " + e.Region
	switch e.Type {
	case engine.EventStart:
		te.t.Begin(id, e.Action+" "+e.Label, e.Action, e.Time, map[string]any{"region": e.Region, "key": e.Key})
	case engine.EventPhase:
		te.t.Phase(id, e.Phase, e.Time)
	case engine.EventFinish:
		te.t.End(id, e.Time, map[string]any{"image": e.Image})
	case engine.EventFail:
		te.t.End(id, e.Time, map[string]any{"error": firstLine(e.Error)})
	}
	// A bake or copy the build stopped has no end event: the trace ends it
	// when it is written.
}
