package rules_test

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/imgraph/imgraph/rules"
)

// What an image sends must be of a kind it can send: a script is one
// file, and nothing is a pipe (which would be read forever). Each
// mistake is an error at load, at the call that names the file.
func TestFileKinds(t *testing.T) {
	for _, tt := range []struct {
		name, image, want string
	}{
		{"script is a directory", `provision = [shell(script = "scripts")]`,
			`pkg/IMAGES.star:1:68: image "img": script //pkg:scripts is a directory, not a file`},
		{"script is a pipe", `provision = [shell(script = "fifo")]`,
			`image "img": script //pkg:fifo is a named pipe, not a file`},
		{"copy src is a pipe", `provision = [copy(src = "fifo", dest = "/etc/x")]`,
			`image "img": copy src //pkg:fifo is a named pipe, not a file`},
		{"copy src is a directory", `provision = [copy(src = "scripts", dest = "/opt")]`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := writeWorkspace(t, map[string]string{
				"IMAGES.star":      localWorkspace,
				"pkg/IMAGES.star":  `image(name = "img", source = rootfs(path = "rootfs"), ` + tt.image + ")\n",
				"pkg/rootfs/":      "",
				"pkg/scripts/a.sh": "true\n",
			})
			if err := syscall.Mkfifo(filepath.Join(root, "pkg", "fifo"), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := load(t, root, rules.Config{})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Load: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Load = %v, want %q", err, tt.want)
			}
		})
	}
}

// A rootfs that is a pipe is refused too; a directory or a file is not.
func TestRootfsKinds(t *testing.T) {
	root := writeWorkspace(t, map[string]string{
		"IMAGES.star":     localWorkspace,
		"pkg/IMAGES.star": `image(name = "img", source = rootfs(path = "fifo"))` + "\n",
	})
	if err := syscall.Mkfifo(filepath.Join(root, "pkg", "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := load(t, root, rules.Config{}); err == nil || !strings.Contains(err.Error(), "rootfs //pkg:fifo is a named pipe") {
		t.Fatalf("Load = %v, want the pipe refused", err)
	}
}
