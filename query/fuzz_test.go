package query

import (
	"context"
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics, fails only with a *Error
// placed inside the expression, and that a parsed expression's String
// parses back to the same String. It also evaluates what parses, over a
// small universe, to check that evaluation never panics either.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"//apps/...", "deps(//apps/api, 2)", "rdeps(//..., //base:harden.sh, 1)",
		"allpaths(//apps/..., //base:al2023)", "somepath(//a, //b)", `kind("source file", //...:*)`,
		`attr(regions, "eu-west-1", //...)`, `filter('\.sh$', //...:*)`,
		"let v = //apps/... in $v - //apps/worker", "(let v = //a in $v) + //b", "//b + let v = //a in $v",
		"set(//a 'b c' \"d'e\")", "//a + //b - //c ^ //d", "//a union (//b except //c) intersect //d",
		`"union"`, `'-x'`, `"$x"`, `""`, "deps", "$v", "//a-b+c", "kind($k, x)", "deps(//a, -1)",
		"'abc", "//a & //b", "let = //a in $x", "set(//a, //b)", "//a)", "((//a)", "\xff",
	} {
		f.Add(s)
	}
	u := testUniverse()
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			var qe *Error
			if !errors.As(err, &qe) {
				t.Fatalf("Parse(%q): error %v is %T, want *query.Error", s, err, err)
			}
			if qe.Offset < 0 || qe.Offset > len(s) {
				t.Fatalf("Parse(%q): offset %d outside the expression", s, qe.Offset)
			}
			return
		}
		printed := e.String()
		again, err := Parse(printed)
		if err != nil {
			t.Fatalf("Parse(%q) printed as %q, which does not parse: %v", s, printed, err)
		}
		if again.String() != printed {
			t.Fatalf("Parse(%q) printed as %q, which prints back as %q", s, printed, again.String())
		}
		if _, err := Eval(context.Background(), u, e, "apps"); err != nil {
			var qe *Error
			if !errors.As(err, &qe) {
				t.Fatalf("Eval(%q): error %v is %T, want *query.Error", s, err, err)
			}
		}
	})
}
