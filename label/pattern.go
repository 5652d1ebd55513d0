package label

import "strings"

// Selects says which targets of the packages a pattern names it takes.
type Selects int

const (
	// One target, named by the pattern.
	One Selects = iota
	// Rules: every image (//pkg:all, //pkg/...).
	Rules
	// Everything: every image and every file (//pkg:*, //pkg:all-targets).
	Everything
)

// Pattern is a target pattern as written on the command line:
// //a/b:c, //a/b, //a/...,  //a:all, //a:*, and any of them behind '-'.
type Pattern struct {
	Pkg       string  // the package, or the root of the recursion
	Recursive bool    // /... : the package and every package beneath it
	Selects   Selects // which targets of the matched packages
	Name      string  // with One: the target's name
	Negative  bool    // written with a leading '-': subtract its targets
}

// ParsePattern parses a target pattern. Patterns not starting with // are
// relative to cwd, the package path of the current directory ("" at the root).
func ParsePattern(s, cwd string) (Pattern, error) {
	in := s
	var p Pattern
	if strings.HasPrefix(s, "-") {
		p.Negative = true
		s = s[1:]
	}
	if s == "" {
		return Pattern{}, patternError(in, "empty pattern")
	}
	if strings.HasPrefix(s, "@") {
		return Pattern{}, patternError(in, "external repositories (@repo//...) are not supported")
	}
	absolute := strings.HasPrefix(s, "//")
	if absolute {
		s = s[2:]
	}
	pkgPart, target, hasColon := strings.Cut(s, ":")
	if hasColon && target == "" {
		return Pattern{}, patternError(in, "empty target name after ':'")
	}
	if pkgPart == "..." || strings.HasSuffix(pkgPart, "/...") {
		p.Recursive = true
		pkgPart = strings.TrimSuffix(strings.TrimSuffix(pkgPart, "..."), "/")
	}
	if !absolute {
		if strings.HasPrefix(pkgPart, "/") {
			return Pattern{}, patternError(in, "a pattern starts with //, ':' or a relative package path")
		}
		joined, ok := joinPackage(cwd, pkgPart)
		if !ok {
			return Pattern{}, patternError(in, "the pattern climbs above the workspace root")
		}
		pkgPart = joined
	} else if !hasColon && !p.Recursive && pkgPart == "" {
		return Pattern{}, patternError(in, "the root package needs a target name (//:name) or //...")
	}
	if msg := checkPackage(pkgPart); msg != "" {
		return Pattern{}, patternError(in, msg)
	}
	p.Pkg = pkgPart
	switch {
	case target == "all" || (p.Recursive && !hasColon):
		p.Selects = Rules
	case target == "*" || target == "all-targets":
		p.Selects = Everything
	case p.Recursive:
		return Pattern{}, patternError(in, "a recursive pattern selects :all or :*, not one target")
	case hasColon:
		if msg := checkName(target); msg != "" {
			return Pattern{}, patternError(in, msg)
		}
		p.Name = target
	default:
		p.Name = lastComponent(pkgPart)
		if p.Name == "" {
			return Pattern{}, patternError(in, "the root package needs a target name (//:name) or //...")
		}
	}
	return p, nil
}

func patternError(in, msg string) error {
	return &Error{Input: in, Msg: msg, Pattern: true}
}

// joinPackage joins a relative package path to cwd, resolving "." and "..";
// ok is false when the result would climb above the workspace root.
func joinPackage(cwd, rel string) (pkg string, ok bool) {
	var segs []string
	if cwd != "" {
		segs = strings.Split(cwd, "/")
	}
	for _, seg := range strings.Split(rel, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(segs) == 0 {
				return "", false
			}
			segs = segs[:len(segs)-1]
		default:
			segs = append(segs, seg)
		}
	}
	return strings.Join(segs, "/"), true
}

// MatchesPackage reports whether the pattern covers package pkg.
func (p Pattern) MatchesPackage(pkg string) bool {
	if !p.Recursive {
		return pkg == p.Pkg
	}
	return p.Pkg == "" || pkg == p.Pkg || strings.HasPrefix(pkg, p.Pkg+"/")
}

// Matches reports whether the pattern selects the target l; isFile says
// whether l is a file rather than an image.
func (p Pattern) Matches(l Label, isFile bool) bool {
	if !p.MatchesPackage(l.Pkg) {
		return false
	}
	switch p.Selects {
	case One:
		return l.Name == p.Name
	case Rules:
		return !isFile
	default:
		return true
	}
}

// Single returns the one label the pattern names, if it names one.
func (p Pattern) Single() (Label, bool) {
	if p.Selects != One {
		return Label{}, false
	}
	return Label{Pkg: p.Pkg, Name: p.Name}, true
}

// String prints the pattern in canonical absolute form.
func (p Pattern) String() string {
	var b strings.Builder
	if p.Negative {
		b.WriteByte('-')
	}
	b.WriteString("//")
	b.WriteString(p.Pkg)
	if p.Recursive {
		if p.Pkg != "" {
			b.WriteByte('/')
		}
		b.WriteString("...")
	}
	switch p.Selects {
	case One:
		// ":all" would read back as the wildcard; "//x/all" names the target
		// all of package x/all, as it did when parsed.
		if !(isWildcardName(p.Name) && p.Name == lastComponent(p.Pkg)) {
			b.WriteString(":" + p.Name)
		}
	case Rules:
		if !p.Recursive {
			b.WriteString(":all")
		}
	case Everything:
		b.WriteString(":*")
	}
	return b.String()
}

// isWildcardName reports whether ":name" selects targets rather than naming one.
func isWildcardName(name string) bool {
	return name == "all" || name == "all-targets" || name == "*"
}
