package aws

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Env values reach the provisioner byte for byte, through the same
// program and command the instance runs.
func TestExportsReachTheScriptUnchanged(t *testing.T) {
	vars := map[string]string{
		"QUOTES":    `it's "quoted" ''`,
		"DOLLAR":    "$HOME ${PATH} $(id -u) $1",
		"BACKTICKS": "`id -u` \\` \\\\",
		"NEWLINES":  "line 1\nline 2\n\n",
		"MIXED":     "a'b\"c$d`e\\f\ng\th;i|j&k*l?m[n]o{p}q~r#s!t",
		"EMPTY":     "",
		"SPACES":    "  lead and trail  ",
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "it's a script.sh")
	// The script writes each value to a file named after it.
	var body strings.Builder
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		body.WriteString(`printf '%s' "$` + k + `" > "$OUT/` + k + "\"\n")
	}
	if err := os.WriteFile(script, []byte(body.String()), 0o700); err != nil {
		t.Fatal(err)
	}
	vars["OUT"] = dir
	program := exports(vars) + "exec /bin/sh -e " + shellQuote(script) + "\n"
	cmd := exec.Command("/bin/sh", "-c", runProgram)
	cmd.Stdin = strings.NewReader(program)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	for k, want := range vars {
		if k == "OUT" {
			continue
		}
		got, err := os.ReadFile(filepath.Join(dir, k))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestInlineRunsWithDashE(t *testing.T) {
	program := exports(map[string]string{"X": "it's"}) +
		"exec /bin/sh -e -c " + shellQuote(strings.Join([]string{`echo "$X"`, "false", "echo unreachable"}, "\n")) + "\n"
	cmd := exec.Command("/bin/sh", "-c", runProgram)
	cmd.Stdin = strings.NewReader(program)
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("err = %v, want exit status 1", err)
	}
	if string(out) != "it's\n" {
		t.Fatalf("output = %q", out)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain":   "'plain'",
		"it's":    `'it'\''s'`,
		"":        "''",
		"a\nb $x": "'a\nb $x'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
