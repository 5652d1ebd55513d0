package label

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Label
	}{
		{"//a/b:c", Label{"a/b", "c"}},
		{"//a/b", Label{"a/b", "b"}},
		{"//a", Label{"a", "a"}},
		{"//:c", Label{"", "c"}},
		{"//base:scripts/harden.sh", Label{"base", "scripts/harden.sh"}},
		{"//a-b/c_d.e/f+g@h=i,j~k:l.m-n_o+p", Label{"a-b/c_d.e/f+g@h=i,j~k", "l.m-n_o+p"}},
		{"//a:...", Label{"a", "..."}}, // only packages reserve "...": a file may be called that
		{"//a:.hidden", Label{"a", ".hidden"}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{"", "an absolute label starts with //"},
		{"a/b:c", "an absolute label starts with //"},
		{":c", "an absolute label starts with //"},
		{"@repo//x:y", "an absolute label starts with //"},
		{"//", "the root package needs a target name (//:name)"},
		{"//:", "empty target name after ':'"},
		{"//a:", "empty target name after ':'"},
		{"//a//b", "package name may not contain '//'"},
		{"///a", "package name may not start or end with '/'"},
		{"//a/", "package name may not start or end with '/'"},
		{"//a/../b", "package name may not contain a segment of only dots"},
		{"//./a", "package name may not contain a segment of only dots"},
		{"//a/...:x", "package name may not contain a segment of only dots"},
		{"//a b:c", `package name may not contain ' '`},
		{"//a:b:c", `target name may not contain ':'`},
		{"//a:b c", `target name may not contain ' '`},
		{"//a:b/../c", "target name may not contain '.' or '..' segments"},
		{"//a:./c", "target name may not contain '.' or '..' segments"},
		{"//a:/b", "target name may not start or end with '/'"},
		{"//a:b/", "target name may not start or end with '/'"},
		{"//a:b//c", "target name may not contain '//'"},
		{"//a:é", `target name may not contain 'é'`},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) = %#v, want error %q", tt.in, got, tt.wantErr)
			continue
		}
		checkError(t, err, tt.in, tt.wantErr)
	}
}

func TestParseRelative(t *testing.T) {
	tests := []struct {
		in, pkg string
		want    Label
		wantErr string
	}{
		{in: ":c", pkg: "apps/api", want: Label{"apps/api", "c"}},
		{in: "c", pkg: "apps/api", want: Label{"apps/api", "c"}},
		{in: "files/api.service", pkg: "apps/api", want: Label{"apps/api", "files/api.service"}},
		{in: ":c", pkg: "", want: Label{"", "c"}},
		{in: "c", pkg: "", want: Label{"", "c"}},
		{in: "//base", pkg: "apps/api", want: Label{"base", "base"}},
		{in: "//base:al2023", pkg: "apps/api", want: Label{"base", "al2023"}},
		{in: "", pkg: "apps", wantErr: "empty label"},
		{in: ":", pkg: "apps", wantErr: "empty target name"},
		{in: "base:x", pkg: "apps", wantErr: "a label with a package starts with //"},
		{in: "@repo//x:y", pkg: "apps", wantErr: "external repositories (@repo//...) are not supported"},
		{in: "../x", pkg: "apps", wantErr: "target name may not contain '.' or '..' segments"},
		{in: ":c", pkg: "bad//pkg", wantErr: "package name may not contain '//'"},
	}
	for _, tt := range tests {
		got, err := ParseRelative(tt.in, tt.pkg)
		if tt.wantErr != "" {
			if err == nil {
				t.Errorf("ParseRelative(%q, %q) = %#v, want error %q", tt.in, tt.pkg, got, tt.wantErr)
				continue
			}
			checkError(t, err, tt.in, tt.wantErr)
			continue
		}
		if err != nil {
			t.Errorf("ParseRelative(%q, %q): %v", tt.in, tt.pkg, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseRelative(%q, %q) = %#v, want %#v", tt.in, tt.pkg, got, tt.want)
		}
	}
}

func TestLabelString(t *testing.T) {
	tests := []struct {
		l           Label
		long, short string
	}{
		{Label{"a/b", "b"}, "//a/b:b", "//a/b"},
		{Label{"a/b", "c"}, "//a/b:c", "//a/b:c"},
		{Label{"", "c"}, "//:c", "//:c"},
		{Label{"a", "x/a"}, "//a:x/a", "//a:x/a"},
	}
	for _, tt := range tests {
		if got := tt.l.String(); got != tt.long {
			t.Errorf("%#v.String() = %q, want %q", tt.l, got, tt.long)
		}
		if got := tt.l.Short(); got != tt.short {
			t.Errorf("%#v.Short() = %q, want %q", tt.l, got, tt.short)
		}
	}
}

func TestLabelLess(t *testing.T) {
	ordered := []Label{{"", "z"}, {"a", "a"}, {"a", "b"}, {"a/b", "a"}, {"b", "a"}}
	for i := range ordered {
		for j := range ordered {
			if got, want := ordered[i].Less(ordered[j]), i < j; got != want {
				t.Errorf("%v.Less(%v) = %v, want %v", ordered[i], ordered[j], got, want)
			}
		}
	}
	if !(Label{}).IsZero() || (Label{"", "x"}).IsZero() {
		t.Error("IsZero is wrong")
	}
}

func TestCheckName(t *testing.T) {
	if msg := CheckName("scripts/install.sh"); msg != "" {
		t.Errorf("CheckName(scripts/install.sh) = %q, want ok", msg)
	}
	if msg := CheckName("a//b"); msg == "" {
		t.Error("CheckName(a//b) accepted a bad name")
	}
}

// checkError asserts err is a bad-input *Error about in whose text holds want.
func checkError(t *testing.T, err error, in, want string) {
	t.Helper()
	var le *Error
	if !errors.As(err, &le) {
		t.Errorf("%q: error %v is %T, want *label.Error", in, err, err)
		return
	}
	if !le.BadInput() {
		t.Errorf("%q: BadInput() = false", in)
	}
	if le.Input != in {
		t.Errorf("%q: error names input %q", in, le.Input)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("%q: error %q, want it to contain %q", in, err, want)
	}
}

func TestNearest(t *testing.T) {
	tests := []struct {
		want       string
		candidates []string
		got        string
		ok         bool
	}{
		{"al2023", []string{"al2023", "al2022"}, "al2023", true},
		{"al2032", []string{"al2023", "ubuntu"}, "al2023", true}, // one swap
		{"bsae", []string{"base", "apps"}, "base", true},         // one swap, short name
		{"jre71", []string{"jre17", "jre21"}, "jre17", true},
		{"//apps/ap:api", []string{"//apps/api:api", "//apps/web:web"}, "//apps/api:api", true},
		{"//bsae:al2023", []string{"//base:al2023", "//base:ubuntu"}, "//base:al2023", true},
		{"ab", []string{"ac", "aa", "ad"}, "aa", true}, // a tie goes to the smallest
		{"ab", []string{"ad", "ac"}, "ac", true},       // whatever the order
		{"x", []string{"y"}, "y", true},                // max(1, …): one edit always allowed
		{"api", []string{"web", "worker"}, "", false},
		{"install.sh", []string{"harden.sh"}, "", false},
		{"anything", nil, "", false},
		{"", []string{"a", "bc"}, "a", true},
	}
	for _, tt := range tests {
		got, ok := Nearest(tt.want, tt.candidates)
		if got != tt.got || ok != tt.ok {
			t.Errorf("Nearest(%q, %q) = %q, %v; want %q, %v", tt.want, tt.candidates, got, ok, tt.got, tt.ok)
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"kitten", "sitting", 3},
		{"ab", "ba", 1},
		{"abcd", "acbd", 1},
		{"ca", "abc", 3}, // optimal string alignment: no edit of a swapped pair
		{"flaw", "lawn", 2},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := editDistance(tt.b, tt.a); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d (not symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}
