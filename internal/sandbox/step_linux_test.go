package sandbox_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/internal/sandbox"
)

// A step places files in a tree that lacks /tmp, then scrubs what starts
// with the prefix its caller gives, and nothing else.
func TestPlaceAndScrub(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	src := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(src, []byte("placed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	var place []sandbox.Placement
	for _, dest := range []string{"/tmp/app-dir/file", "/tmp/app-file", "/tmp/other/file", "/tmp/kept-app-file"} {
		place = append(place, sandbox.Placement{Src: src, Dest: dest, Mode: -1, DirMode: 0o700})
	}
	var out strings.Builder
	ctx := context.Background()
	if err := sb.Run(ctx, &sandbox.Step{Root: root, Place: place}, nil, &out, &out); err != nil {
		t.Fatalf("placing: %v\n%s", err, out.String())
	}
	if info, err := os.Stat(filepath.Join(root, "tmp")); err != nil || info.Mode() != fs.ModeDir|fs.ModeSticky|0o777 {
		t.Errorf("/tmp: %v, %v; want a sticky, world-writable directory", info, err)
	}
	if err := sb.Run(ctx, &sandbox.Step{Root: root, Scrub: "/tmp/app-"}, nil, &out, &out); err != nil {
		t.Fatalf("scrubbing: %v\n%s", err, out.String())
	}
	entries, err := os.ReadDir(filepath.Join(root, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if got, want := strings.Join(left, " "), "kept-app-file other"; got != want {
		t.Errorf("/tmp holds %q after the scrub, want %q", got, want)
	}

	err = sb.Run(ctx, &sandbox.Step{Root: root, Scrub: "tmp/app-"}, nil, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "not an absolute path") {
		t.Errorf("a relative scrub prefix: %v, want an error", err)
	}
}
