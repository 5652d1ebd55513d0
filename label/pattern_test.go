package label

import "testing"

func TestParsePattern(t *testing.T) {
	tests := []struct {
		in, cwd string
		want    Pattern
		str     string // canonical form
	}{
		{in: "//a/b:c", want: Pattern{Pkg: "a/b", Name: "c"}, str: "//a/b:c"},
		{in: "//a/b", want: Pattern{Pkg: "a/b", Name: "b"}, str: "//a/b:b"},
		{in: "//:c", want: Pattern{Name: "c"}, str: "//:c"},
		{in: "//a/...", want: Pattern{Pkg: "a", Recursive: true, Selects: Rules}, str: "//a/..."},
		{in: "//...", want: Pattern{Recursive: true, Selects: Rules}, str: "//..."},
		{in: "//...:all", want: Pattern{Recursive: true, Selects: Rules}, str: "//..."},
		{in: "//...:*", want: Pattern{Recursive: true, Selects: Everything}, str: "//...:*"},
		{in: "//a/...:all-targets", want: Pattern{Pkg: "a", Recursive: true, Selects: Everything}, str: "//a/...:*"},
		{in: "//a:all", want: Pattern{Pkg: "a", Selects: Rules}, str: "//a:all"},
		{in: "//:all", want: Pattern{Selects: Rules}, str: "//:all"},
		{in: "//a:*", want: Pattern{Pkg: "a", Selects: Everything}, str: "//a:*"},
		{in: "//a:all-targets", want: Pattern{Pkg: "a", Selects: Everything}, str: "//a:*"},
		{in: "//a:scripts/x.sh", want: Pattern{Pkg: "a", Name: "scripts/x.sh"}, str: "//a:scripts/x.sh"},
		{in: "-//legacy/...", want: Pattern{Pkg: "legacy", Recursive: true, Selects: Rules, Negative: true}, str: "-//legacy/..."},
		{in: "-//a:b", want: Pattern{Pkg: "a", Name: "b", Negative: true}, str: "-//a:b"},
		// A package named "all": without a colon "all" is the target's name,
		// so the canonical form must not write the wildcard ":all".
		{in: "//x/all", want: Pattern{Pkg: "x/all", Name: "all"}, str: "//x/all"},
		{in: "//x/all-targets", want: Pattern{Pkg: "x/all-targets", Name: "all-targets"}, str: "//x/all-targets"},
		{in: "all", cwd: "x", want: Pattern{Pkg: "x/all", Name: "all"}, str: "//x/all"},

		// Relative to the current directory's package.
		{in: "apps/api", cwd: "", want: Pattern{Pkg: "apps/api", Name: "api"}, str: "//apps/api:api"},
		{in: "api", cwd: "apps", want: Pattern{Pkg: "apps/api", Name: "api"}, str: "//apps/api:api"},
		{in: "apps/...", cwd: "", want: Pattern{Pkg: "apps", Recursive: true, Selects: Rules}, str: "//apps/..."},
		{in: "...", cwd: "apps", want: Pattern{Pkg: "apps", Recursive: true, Selects: Rules}, str: "//apps/..."},
		{in: "...", cwd: "", want: Pattern{Recursive: true, Selects: Rules}, str: "//..."},
		{in: "...:*", cwd: "apps", want: Pattern{Pkg: "apps", Recursive: true, Selects: Everything}, str: "//apps/...:*"},
		{in: ":api", cwd: "apps/api", want: Pattern{Pkg: "apps/api", Name: "api"}, str: "//apps/api:api"},
		{in: ":all", cwd: "apps/api", want: Pattern{Pkg: "apps/api", Selects: Rules}, str: "//apps/api:all"},
		{in: ":api", cwd: "", want: Pattern{Name: "api"}, str: "//:api"},
		{in: "../x", cwd: "apps/api", want: Pattern{Pkg: "apps/x", Name: "x"}, str: "//apps/x:x"},
		{in: "../../base:al2023", cwd: "apps/api", want: Pattern{Pkg: "base", Name: "al2023"}, str: "//base:al2023"},
		{in: "./web", cwd: "apps", want: Pattern{Pkg: "apps/web", Name: "web"}, str: "//apps/web:web"},
		{in: "..", cwd: "apps/api", want: Pattern{Pkg: "apps", Name: "apps"}, str: "//apps:apps"},
		{in: "-legacy/...", cwd: "", want: Pattern{Pkg: "legacy", Recursive: true, Selects: Rules, Negative: true}, str: "-//legacy/..."},
		{in: "//base:al2023", cwd: "apps/api", want: Pattern{Pkg: "base", Name: "al2023"}, str: "//base:al2023"},
	}
	for _, tt := range tests {
		got, err := ParsePattern(tt.in, tt.cwd)
		if err != nil {
			t.Errorf("ParsePattern(%q, %q): %v", tt.in, tt.cwd, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParsePattern(%q, %q) = %#v, want %#v", tt.in, tt.cwd, got, tt.want)
		}
		if s := got.String(); s != tt.str {
			t.Errorf("ParsePattern(%q, %q).String() = %q, want %q", tt.in, tt.cwd, s, tt.str)
		}
	}
}

func TestParsePatternErrors(t *testing.T) {
	tests := []struct {
		in, cwd, wantErr string
	}{
		{"", "", "empty pattern"},
		{"-", "", "empty pattern"},
		{"@repo//x", "", "external repositories (@repo//...) are not supported"},
		{"-@repo//x", "", "external repositories"},
		{"//", "", "the root package needs a target name (//:name) or //..."},
		{"//a:", "", "empty target name after ':'"},
		{"//:", "", "empty target name after ':'"},
		{":", "apps", "empty target name after ':'"},
		{"//a//b", "", "package name may not contain '//'"},
		{"//a/../b", "", "package name may not contain a segment of only dots"},
		{"//a/.../b", "", "package name may not contain a segment of only dots"},
		{"//a/...:x", "", "a recursive pattern selects :all or :*, not one target"},
		{"//a/.../...", "", "package name may not contain a segment of only dots"},
		{"x/.../.:all", "", "package name may not contain a segment of only dots"},
		{"//a:b/../c", "", "target name may not contain '.' or '..' segments"},
		{"//a b", "", `package name may not contain ' '`},
		{"../x", "", "the pattern climbs above the workspace root"},
		{"../../x", "apps", "the pattern climbs above the workspace root"},
		{".", "", "the root package needs a target name (//:name) or //..."},
		{"/a", "", "a pattern starts with //, ':' or a relative package path"},
	}
	for _, tt := range tests {
		got, err := ParsePattern(tt.in, tt.cwd)
		if err == nil {
			t.Errorf("ParsePattern(%q, %q) = %#v, want error %q", tt.in, tt.cwd, got, tt.wantErr)
			continue
		}
		checkError(t, err, tt.in, tt.wantErr)
	}
}

func TestPatternMatches(t *testing.T) {
	type target struct {
		l      string
		isFile bool
	}
	api := target{"//apps/api:api", false}
	apiScript := target{"//apps/api:install.sh", true}
	web := target{"//apps/web:web", false}
	appsRoot := target{"//apps:apps", false}
	appsieve := target{"//appsieve:x", false} // shares a prefix, not a package path
	root := target{"//:top", false}
	rootFile := target{"//:README", true}
	legacy := target{"//legacy/old:old", false}
	all := []target{api, apiScript, web, appsRoot, appsieve, root, rootFile, legacy}

	tests := []struct {
		pattern string
		want    []target
	}{
		{"//apps/api", []target{api}},
		{"//apps/api:install.sh", []target{apiScript}},
		{"//apps/api:all", []target{api}},
		{"//apps/api:*", []target{api, apiScript}},
		{"//apps/api:all-targets", []target{api, apiScript}},
		{"//apps/...", []target{api, web, appsRoot}},
		{"//apps/...:*", []target{api, apiScript, web, appsRoot}},
		{"//...", []target{api, web, appsRoot, appsieve, root, legacy}},
		{"//...:*", all},
		{"//:all", []target{root}},
		{"//:*", []target{root, rootFile}},
		{"-//legacy/...", []target{legacy}}, // Matches ignores the sign: the caller subtracts
		{"//nope/...", nil},
	}
	for _, tt := range tests {
		p, err := ParsePattern(tt.pattern, "")
		if err != nil {
			t.Fatalf("ParsePattern(%q): %v", tt.pattern, err)
		}
		want := map[target]bool{}
		for _, w := range tt.want {
			want[w] = true
		}
		for _, tg := range all {
			l, err := Parse(tg.l)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tg.l, err)
			}
			if got := p.Matches(l, tg.isFile); got != want[tg] {
				t.Errorf("%q.Matches(%s, isFile=%v) = %v, want %v", tt.pattern, tg.l, tg.isFile, got, want[tg])
			}
		}
	}
}

func TestPatternSingle(t *testing.T) {
	p, _ := ParsePattern("//apps/api", "")
	if l, ok := p.Single(); !ok || l != (Label{"apps/api", "api"}) {
		t.Errorf("Single() = %v, %v; want //apps/api:api, true", l, ok)
	}
	p, _ = ParsePattern("//apps/...", "")
	if _, ok := p.Single(); ok {
		t.Error("//apps/... names a single target")
	}
}
