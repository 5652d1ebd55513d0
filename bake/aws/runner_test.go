package aws

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imgraph/imgraph/bake"
)

// fakeStep records its Run and Cleanup in a shared journal.
type fakeStep struct {
	name       string
	journal    *journal
	run        func(ctx context.Context) error
	cleanupErr error
}

type journal struct {
	mu      sync.Mutex
	entries []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = append(j.entries, s)
}

func (j *journal) String() string { return strings.Join(j.entries, " ") }

func (f *fakeStep) Name() string { return f.name }

func (f *fakeStep) Run(ctx context.Context, s *bakeState) error {
	f.journal.add("run:" + f.name)
	if f.run != nil {
		return f.run(ctx)
	}
	return nil
}

func (f *fakeStep) Cleanup(ctx context.Context, s *bakeState) error {
	_, hasDeadline := ctx.Deadline()
	switch {
	case ctx.Err() != nil:
		f.journal.add("cleanup:" + f.name + "(cancelled!)")
	case !hasDeadline:
		f.journal.add("cleanup:" + f.name + "(no deadline!)")
	default:
		f.journal.add("cleanup:" + f.name)
	}
	return f.cleanupErr
}

func steps(j *journal, names ...string) []*fakeStep {
	var out []*fakeStep
	for _, n := range names {
		out = append(out, &fakeStep{name: n, journal: j})
	}
	return out
}

func runFake(ctx context.Context, fs []*fakeStep) (error, error) {
	r := &runner[*bakeState]{cleanupTimeout: time.Minute}
	for _, f := range fs {
		r.steps = append(r.steps, f)
	}
	return r.run(ctx, &bakeState{})
}

func TestRunnerSuccessCleansUpInReverse(t *testing.T) {
	j := &journal{}
	stepErr, cleanupErr := runFake(context.Background(), steps(j, "a", "b", "c"))
	if stepErr != nil || cleanupErr != nil {
		t.Fatal(stepErr, cleanupErr)
	}
	if got, want := j.String(), "run:a run:b run:c cleanup:c cleanup:b cleanup:a"; got != want {
		t.Fatalf("journal = %s\nwant      %s", got, want)
	}
}

func TestRunnerFailureCleansUpWhatRan(t *testing.T) {
	j := &journal{}
	fs := steps(j, "a", "b", "c", "d")
	boom := errors.New("boom")
	fs[2].run = func(context.Context) error { return boom }
	stepErr, cleanupErr := runFake(context.Background(), fs)
	if cleanupErr != nil {
		t.Fatal(cleanupErr)
	}
	if !errors.Is(stepErr, boom) || stepErr.Error() != "c: boom" {
		t.Fatalf("err = %v, want c: boom", stepErr)
	}
	// The failed step's cleanup runs too: it may have made something.
	if got, want := j.String(), "run:a run:b run:c cleanup:c cleanup:b cleanup:a"; got != want {
		t.Fatalf("journal = %s\nwant      %s", got, want)
	}
}

func TestRunnerCancellation(t *testing.T) {
	for at := range 3 {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			j := &journal{}
			fs := steps(j, "a", "b", "c")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// The step is cancelled while it runs and returns what a
			// cancelled call returns.
			fs[at].run = func(ctx context.Context) error {
				cancel()
				<-ctx.Done()
				return fmt.Errorf("operation error: %w", ctx.Err())
			}
			stepErr, cleanupErr := runFake(ctx, fs)
			if cleanupErr != nil {
				t.Fatal(cleanupErr)
			}
			if !errors.Is(stepErr, context.Canceled) || !strings.HasPrefix(stepErr.Error(), fs[at].name+": ") {
				t.Fatalf("err = %v, want %s: ...context canceled", stepErr, fs[at].name)
			}
			var want []string
			for i := 0; i <= at; i++ {
				want = append(want, "run:"+fs[i].name)
			}
			for i := at; i >= 0; i-- {
				want = append(want, "cleanup:"+fs[i].name)
			}
			if got := j.String(); got != strings.Join(want, " ") {
				t.Fatalf("journal = %s\nwant      %s", got, strings.Join(want, " "))
			}
		})
	}
}

// A step that returns some other error after the cancellation still
// reports the cancellation, so the engine sees an interrupted bake.
func TestRunnerCancellationWinsOverItsSymptoms(t *testing.T) {
	j := &journal{}
	fs := steps(j, "a", "b")
	ctx, cancel := context.WithCancel(context.Background())
	fs[0].run = func(context.Context) error {
		cancel()
		return errors.New("connection reset")
	}
	stepErr, _ := runFake(ctx, fs)
	if !errors.Is(stepErr, context.Canceled) || !strings.Contains(stepErr.Error(), "connection reset") {
		t.Fatalf("err = %v", stepErr)
	}
	if got, want := j.String(), "run:a cleanup:a"; got != want {
		t.Fatalf("journal = %s, want %s", got, want)
	}
}

func TestRunnerCancelledBeforeAStepDoesNotRunIt(t *testing.T) {
	j := &journal{}
	ctx, cancel := context.WithCancel(context.Background())
	fs := steps(j, "a", "b")
	fs[0].run = func(context.Context) error { cancel(); return nil }
	stepErr, _ := runFake(ctx, fs)
	if !errors.Is(stepErr, context.Canceled) || !strings.HasPrefix(stepErr.Error(), "b: ") {
		t.Fatalf("err = %v", stepErr)
	}
	if got, want := j.String(), "run:a cleanup:a"; got != want {
		t.Fatalf("journal = %s, want %s", got, want)
	}
}

func TestRunnerCleanupFailuresDoNotHideTheError(t *testing.T) {
	j := &journal{}
	fs := steps(j, "a", "b", "c")
	boom := errors.New("boom")
	fs[2].run = func(context.Context) error { return boom }
	fs[1].cleanupErr = errors.New("group in use")
	fs[0].cleanupErr = errors.New("key pair refused")
	stepErr, cleanupErr := runFake(context.Background(), fs)
	if !errors.Is(stepErr, boom) {
		t.Fatalf("step error = %v", stepErr)
	}
	var ce *bake.CleanupError
	if !errors.As(cleanupErr, &ce) || len(ce.Errs) != 2 {
		t.Fatalf("cleanup error = %v", cleanupErr)
	}
	msg := cleanupErr.Error()
	if !strings.Contains(msg, "b: group in use") || !strings.Contains(msg, "a: key pair refused") {
		t.Fatalf("cleanup error = %s", msg)
	}
	// Every cleanup ran, the failing ones included, and in order.
	if got, want := j.String(), "run:a run:b run:c cleanup:c cleanup:b cleanup:a"; got != want {
		t.Fatalf("journal = %s, want %s", got, want)
	}
}

func TestStepErrorNamesTheStepOnce(t *testing.T) {
	e := &stepError{Step: "provision", Err: errors.New("provision [1] shell (//a:b.sh) exited with status 3")}
	if got := e.Error(); got != "provision [1] shell (//a:b.sh) exited with status 3" {
		t.Fatal(got)
	}
	e = &stepError{Step: "launch", Err: errors.New("launching an instance: no capacity")}
	if got := e.Error(); got != "launch: launching an instance: no capacity" {
		t.Fatal(got)
	}
	e = &stepError{Step: "launch", Err: errors.New("no capacity")}
	if got := e.Error(); got != "launch: no capacity" {
		t.Fatal(got)
	}
}

// A step with no name adds none to its errors or its cleanup's: its
// operation's own errors say what it does.
func TestRunnerUnnamedStep(t *testing.T) {
	j := &journal{}
	fs := steps(j, "")
	fs[0].run = func(context.Context) error { return errors.New("copying image ami-1: no capacity") }
	fs[0].cleanupErr = errors.New("deregistering image ami-2: refused")
	stepErr, cleanupErr := runFake(context.Background(), fs)
	if stepErr == nil || stepErr.Error() != "copying image ami-1: no capacity" {
		t.Fatalf("step error = %v", stepErr)
	}
	var ce *bake.CleanupError
	if !errors.As(cleanupErr, &ce) || len(ce.Errs) != 1 || ce.Errs[0].Error() != "deregistering image ami-2: refused" {
		t.Fatalf("cleanup error = %v", cleanupErr)
	}
}
