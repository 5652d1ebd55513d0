package sandbox_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imgraph/imgraph/internal/sandbox"
	"github.com/imgraph/imgraph/internal/testrootfs"
)

func TestSandboxRun(t *testing.T) {
	rootfs := testrootfs.New(t)
	sb := newSandbox(t)
	root := filepath.Join(t.TempDir(), "root")
	if err := sb.CopyTree(context.Background(), rootfs, root, nil); err != nil {
		t.Fatal(err)
	}
	if err := sb.CopyTree(context.Background(), rootfs, root, nil); err == nil {
		t.Fatal("CopyTree over an existing tree succeeded")
	}
	env := []string{"PATH=/bin", "GREETING=hello"}
	var stdout, stderr bytes.Buffer
	status, err := run(context.Background(), sb, root, []string{"/bin/sh", "-c", `read line; echo "$GREETING $line"; echo oops >&2; echo kept > /root/file; exit 3`},
		env, strings.NewReader("world\n"), &stdout, &stderr)
	if err != nil || status != 3 {
		t.Fatalf("Run = %d, %v; want 3, nil", status, err)
	}
	if stdout.String() != "hello world\n" || stderr.String() != "oops\n" {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	if data, err := os.ReadFile(filepath.Join(root, "root", "file")); err != nil || string(data) != "kept\n" {
		t.Errorf("the command's file: %q, %v", data, err)
	}

	// A command that never reads its input ends with its own exit, not
	// with the input's.
	never, w := io.Pipe()
	defer w.Close()
	status, err = run(context.Background(), sb, root, []string{"/bin/sh", "-c", "exit 7"}, env, never, nil, nil)
	if err != nil || status != 7 {
		t.Fatalf("Run of a command ignoring its input = %d, %v; want 7, nil", status, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		status, err = run(ctx, sb, root, []string{"/bin/sh", "-c", "echo started; sleep 600"}, env, nil, &cancelWriter{cancel: cancel}, nil)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("a cancelled Run did not return")
	}
	if err != context.Canceled || status != -1 {
		t.Errorf("cancelled Run = %d, %v; want -1, context.Canceled", status, err)
	}
}

// run runs argv in a sandbox over root, as the EC2 simulator's instances
// run their commands, and returns its exit status as a shell reports it;
// err is set, and the status -1, when it did not run to its end.
func run(ctx context.Context, sb *sandbox.Sandbox, root string, argv, env []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	err := sb.Run(ctx, &sandbox.Step{Root: root, Mounts: true, Argv: argv, Env: env}, stdin, stdout, stderr)
	var exit *sandbox.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		return exit.Code(), nil
	}
	return -1, err
}

// cancelWriter cancels when the command writes.
type cancelWriter struct{ cancel func() }

func (w *cancelWriter) Write(p []byte) (int, error) {
	w.cancel()
	return len(p), nil
}
