// Package label parses and prints the names of targets (//pkg:name) and the
// target patterns (//pkg/..., //pkg:all, -//legacy/...) that select them, with
// Bazel's meaning. It is pure: it knows nothing of files or of the workspace.
package label

import (
	"fmt"
	"strings"
)

// Label names one target: an image, or a file of a package.
// Pkg is the package's path below the workspace root ("" for the root
// package); Name is the target's name, which for a file is its path relative
// to the package (it may contain slashes).
type Label struct {
	Pkg  string
	Name string
}

// String prints the label in its canonical form, //pkg:name.
func (l Label) String() string {
	return "//" + l.Pkg + ":" + l.Name
}

// Short prints //pkg when the name repeats the package's last component,
// the way Bazel users write it.
func (l Label) Short() string {
	if l.Pkg != "" && l.Name == lastComponent(l.Pkg) {
		return "//" + l.Pkg
	}
	return l.String()
}

// IsZero reports whether l is the zero label.
func (l Label) IsZero() bool { return l.Pkg == "" && l.Name == "" }

// Less orders labels by package, then by name.
func (l Label) Less(o Label) bool {
	if l.Pkg != o.Pkg {
		return l.Pkg < o.Pkg
	}
	return l.Name < o.Name
}

// Error is a malformed label or pattern. It is bad input, never a bug.
type Error struct {
	Input   string
	Msg     string
	Pattern bool // the input was a target pattern rather than a label
}

func (e *Error) Error() string {
	what := "label"
	if e.Pattern {
		what = "pattern"
	}
	return fmt.Sprintf("invalid %s %q: %s", what, e.Input, e.Msg)
}

// BadInput marks the error as the user's to fix (exit code 2).
func (e *Error) BadInput() bool { return true }

// Parse parses an absolute label, //pkg:name or //pkg.
func Parse(s string) (Label, error) {
	if !strings.HasPrefix(s, "//") {
		return Label{}, &Error{Input: s, Msg: "an absolute label starts with //"}
	}
	return ParseRelative(s, "")
}

// ParseRelative parses a label written inside package pkg: besides the
// absolute forms it accepts :name and a bare name, both meaning pkg:name.
func ParseRelative(s, pkg string) (Label, error) {
	if s == "" {
		return Label{}, &Error{Input: s, Msg: "empty label"}
	}
	if strings.HasPrefix(s, "@") {
		return Label{}, &Error{Input: s, Msg: "external repositories (@repo//...) are not supported"}
	}
	var l Label
	switch {
	case strings.HasPrefix(s, "//"):
		rest := s[2:]
		if i := strings.IndexByte(rest, ':'); i >= 0 {
			l = Label{Pkg: rest[:i], Name: rest[i+1:]}
			if l.Name == "" {
				return Label{}, &Error{Input: s, Msg: "empty target name after ':'"}
			}
		} else {
			if rest == "" {
				return Label{}, &Error{Input: s, Msg: "the root package needs a target name (//:name)"}
			}
			l = Label{Pkg: rest, Name: lastComponent(rest)}
		}
	case strings.HasPrefix(s, ":"):
		l = Label{Pkg: pkg, Name: s[1:]}
	default:
		if strings.Contains(s, ":") {
			return Label{}, &Error{Input: s, Msg: "a label with a package starts with //"}
		}
		l = Label{Pkg: pkg, Name: s}
	}
	if msg := checkPackage(l.Pkg); msg != "" {
		return Label{}, &Error{Input: s, Msg: msg}
	}
	if msg := checkName(l.Name); msg != "" {
		return Label{}, &Error{Input: s, Msg: msg}
	}
	return l, nil
}

// CheckName reports what is wrong with a target name, or "" if nothing is.
func CheckName(name string) string { return checkName(name) }

// CheckPackage reports what is wrong with a package's path, or "" if
// nothing is.
func CheckPackage(pkg string) string { return checkPackage(pkg) }

func checkPackage(pkg string) string {
	if pkg == "" {
		return ""
	}
	if strings.HasPrefix(pkg, "/") || strings.HasSuffix(pkg, "/") {
		return "package name may not start or end with '/'"
	}
	for _, seg := range strings.Split(pkg, "/") {
		if seg == "" {
			return "package name may not contain '//'"
		}
		// Like Bazel, reject "..." too: a package named "..." could not be
		// told apart from the recursive pattern //a/... .
		if strings.Trim(seg, ".") == "" {
			return "package name may not contain a segment of only dots ('.', '..', '...')"
		}
		for _, r := range seg {
			if !isPackageRune(r) {
				return fmt.Sprintf("package name may not contain %q", r)
			}
		}
	}
	return ""
}

func checkName(name string) string {
	if name == "" {
		return "empty target name"
	}
	if strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") {
		return "target name may not start or end with '/'"
	}
	for _, seg := range strings.Split(name, "/") {
		switch seg {
		case "":
			return "target name may not contain '//'"
		case ".", "..":
			return "target name may not contain '.' or '..' segments"
		}
	}
	for _, r := range name {
		if !isNameRune(r) {
			return fmt.Sprintf("target name may not contain %q", r)
		}
	}
	return ""
}

func isPackageRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		strings.ContainsRune("-._+@=,~", r)
}

func isNameRune(r rune) bool {
	return isPackageRune(r) || r == '/'
}

func lastComponent(pkg string) string {
	if i := strings.LastIndexByte(pkg, '/'); i >= 0 {
		return pkg[i+1:]
	}
	return pkg
}
