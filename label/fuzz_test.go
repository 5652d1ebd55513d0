package label

import (
	"errors"
	"testing"
)

var labelSeeds = []string{
	"//a/b:c", "//a/b", "//:c", ":c", "c", "//a:scripts/x.sh", "@repo//x", "//a//b",
	"//a/../b", "//a:", "//:", "//", "", "//a/...:x", "//a:b:c", "//é:x", "//a:\xff",
}

var patternSeeds = []string{
	"//a/...", "//...", "//a:all", "//a:*", "//a:all-targets", "-//legacy/...",
	"apps/api", "apps/...", "...", ":api", "../x", "x/.../.:all", "a/.../", "--x",
	"//...:*", "-", "/a", ".", "all", "x/all-targets",
}

// FuzzParse checks that Parse and ParseRelative never panic, fail only with
// a bad-input *Error, and accept only labels that print back to themselves.
func FuzzParse(f *testing.F) {
	for _, s := range labelSeeds {
		f.Add(s, "apps/api")
	}
	f.Fuzz(func(t *testing.T, s, pkg string) {
		l, err := Parse(s)
		checkParsed(t, s, l, err)
		if checkPackage(pkg) != "" {
			return // a package of the workspace is valid by construction
		}
		l, err = ParseRelative(s, pkg)
		checkParsed(t, s, l, err)
	})
}

func checkParsed(t *testing.T, s string, l Label, err error) {
	t.Helper()
	if err != nil {
		var le *Error
		if !errors.As(err, &le) || !le.BadInput() {
			t.Fatalf("%q: error %v (%T) is not a bad-input *label.Error", s, err, err)
		}
		return
	}
	if msg := checkPackage(l.Pkg); msg != "" {
		t.Fatalf("%q parsed to package %q: %s", s, l.Pkg, msg)
	}
	if msg := checkName(l.Name); msg != "" {
		t.Fatalf("%q parsed to name %q: %s", s, l.Name, msg)
	}
	for _, printed := range []string{l.String(), l.Short()} {
		again, err := Parse(printed)
		if err != nil {
			t.Fatalf("%q parsed to %#v, whose form %q does not parse: %v", s, l, printed, err)
		}
		if again != l {
			t.Fatalf("%q parsed to %#v, but its form %q parses to %#v", s, l, printed, again)
		}
	}
}

// FuzzParsePattern checks that ParsePattern never panics and that a parsed
// pattern's canonical form means the same pattern from any directory.
func FuzzParsePattern(f *testing.F) {
	for _, s := range patternSeeds {
		f.Add(s, "")
		f.Add(s, "apps/api")
	}
	f.Fuzz(func(t *testing.T, s, cwd string) {
		p, err := ParsePattern(s, cwd)
		if checkPackage(cwd) != "" {
			return // only "never panics" holds for a cwd that is no package
		}
		if err != nil {
			var le *Error
			if !errors.As(err, &le) || !le.BadInput() {
				t.Fatalf("%q: error %v (%T) is not a bad-input *label.Error", s, err, err)
			}
			return
		}
		if msg := checkPackage(p.Pkg); msg != "" {
			t.Fatalf("%q from %q parsed to package %q: %s", s, cwd, p.Pkg, msg)
		}
		if l, ok := p.Single(); ok {
			if msg := checkName(l.Name); msg != "" {
				t.Fatalf("%q from %q parsed to name %q: %s", s, cwd, l.Name, msg)
			}
			if !p.Matches(l, false) || !p.Matches(l, true) {
				t.Fatalf("%q does not match the target %v it names", s, l)
			}
		}
		for _, dir := range []string{"", "x/y"} {
			again, err := ParsePattern(p.String(), dir)
			if err != nil {
				t.Fatalf("%q from %q parsed to %#v, whose form %q does not parse: %v", s, cwd, p, p.String(), err)
			}
			if again != p {
				t.Fatalf("%q from %q parsed to %#v, but its form %q parses to %#v", s, cwd, p, p.String(), again)
			}
		}
	})
}
