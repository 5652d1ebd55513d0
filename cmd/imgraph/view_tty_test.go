package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/creack/pty"
)

// The live view, driven through a pseudo-terminal as a person sees it:
// at 80×24 and at 200×50, with more bakes running than fit, no line is
// longer than the terminal is wide, and once the build ends no line of the
// live block is left on the screen or in the scrollback.
func TestLiveViewInATerminal(t *testing.T) {
	t.Parallel()
	files := map[string]string{}
	var images []string
	for i := range 30 {
		name := fmt.Sprintf("a-service-with-a-rather-long-name-%02d", i)
		images = append(images, fmt.Sprintf(`image(name = %q, parent = "//base:al2023", provision = [shell(inline = ["echo %d > /n"])])`, name, i))
	}
	files["teams/platform/runtime/services/IMAGES.star"] = strings.Join(images, "\n")
	files["base/IMAGES.star"] = `image(name = "al2023", source = rootfs(path = "rootfs"))`
	for _, size := range []struct{ cols, rows int }{{80, 24}, {200, 50}} {
		t.Run(fmt.Sprintf("%dx%d", size.cols, size.rows), func(t *testing.T) {
			t.Parallel()
			ws := newWorkspace(t, files)
			out := runInTerminal(t, ws, size.cols, size.rows, "build", "-j", "40")
			screen, long := emulate(out, size.cols)
			for _, l := range long {
				t.Errorf("a line longer than %d columns: %q", size.cols, l)
			}
			block := regexp.MustCompile(`running, |^  \S.*\d\.\ds$|^  and \d+ more`)
			for _, l := range screen {
				if block.MatchString(l) {
					t.Errorf("a line of the live block is left after the build: %q", l)
				}
			}
			if !strings.Contains(strings.Join(screen, "\n"), "31 images: 31 baked") {
				t.Errorf("no summary on the screen:\n%s", strings.Join(screen, "\n"))
			}
			if !strings.Contains(out, "and ") || !strings.Contains(out, "more") {
				if size.rows == 24 {
					t.Errorf("30 bakes at once on 24 rows never said \"and N more\"")
				}
			}
		})
	}
}

// runInTerminal runs imgraph args in ws on a pseudo-terminal of cols×rows
// and returns all it wrote there.
func runInTerminal(t *testing.T, ws *testWorkspace, cols, rows int, args ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"--cache", ws.cache}, args...)...)
	cmd.Dir = ws.root
	cmd.Env = append(os.Environ(), asCLIEnv+"=1", "TERM=xterm", "NO_COLOR=")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: uint16(rows), Cols: uint16(cols)})
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	data, err := io.ReadAll(tty)
	var pathErr *os.PathError
	if err != nil && !(errors.As(err, &pathErr)) { // EIO once the program is gone
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("imgraph %v: %v\n%s", args, err, data)
	}
	return string(data)
}

var csi = regexp.MustCompile(`^\x1b\[([0-9;]*)([A-Za-z])`)

// emulate plays what a program wrote to a terminal cols wide, keeping
// every line that scrolled by, and returns the lines left, and every line
// the program wrote past the width (which the terminal would have
// wrapped).
func emulate(out string, cols int) (screen []string, long []string) {
	lines := [][]rune{{}}
	row, col := 0, 0
	for i := 0; i < len(out); {
		if m := csi.FindStringSubmatch(out[i:]); m != nil {
			n, _ := strconv.Atoi(m[1])
			switch m[2] {
			case "F": // to the start of the line n above
				row, col = max(row-max(n, 1), 0), 0
			case "J": // erase from the cursor to the end of the screen
				lines = lines[:row+1]
				lines[row] = lines[row][:min(col, len(lines[row]))]
			}
			i += len(m[0])
			continue
		}
		r, size := utf8.DecodeRuneInString(out[i:])
		i += size
		switch r {
		case '\r':
			col = 0
		case '\n':
			row++
			if row == len(lines) {
				lines = append(lines, []rune{})
			}
		default:
			if col >= cols {
				long = append(long, string(lines[row]))
			}
			if col < len(lines[row]) {
				lines[row][col] = r
			} else {
				lines[row] = append(lines[row], r)
			}
			col++
		}
	}
	for _, l := range lines {
		screen = append(screen, string(l))
	}
	return screen, long
}
