package query

import (
	"errors"
	"strings"
	"testing"
)

func TestParseString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"//apps/...", "//apps/..."},
		{"  //a  +//b-//c ", "//a + //b-//c"}, // '-' inside a word is part of it
		{"//a + //b - //c", "//a + //b - //c"},
		{"(//a + //b) - //c", "//a + //b - //c"},
		{"//a + (//b - //c)", "//a + (//b - //c)"},
		{"//a union //b except //c intersect //d", "//a + //b - //c ^ //d"},
		{"deps( //a ,2 )", "deps(//a, 2)"},
		{"deps(//a + //b)", "deps(//a + //b)"},
		{"rdeps(//..., //base:al2023, 1)", "rdeps(//..., //base:al2023, 1)"},
		{"somepath(//a, //b) + allpaths(//a, //b)", "somepath(//a, //b) + allpaths(//a, //b)"},
		{"let v = //a in $v + //b", "let v = //a in $v + //b"},
		{"(let v = //a in $v) + //b", "(let v = //a in $v) + //b"},
		{"//b + let v = //a in $v", "//b + (let v = //a in $v)"},
		{"let a = let b = //x in $b in $a", "let a = let b = //x in $b in $a"},
		{"set( a  'b c' )", `set(a "b c")`},
		{"set()", "set()"},
		{"kind('image rule', x)", `kind("image rule", x)`},
		{`filter('"', x)`, `filter('"', x)`},
		{`attr(tags, "[a, b]", //...)`, `attr(tags, "[a, b]", //...)`},
		{`"union"`, `"union"`},
		{`'-x'`, `"-x"`},
		{`"$x"`, `"$x"`},
		{`""`, `""`},
		{`"deps"`, "deps"}, // a function's name is only special before '('
		{"deps", "deps"},
		{`"a"`, "a"},
		{"//c++:lib", "//c++:lib"},
		{"//a:*", "//a:*"},
		{"$v", "$v"},
	}
	for _, tt := range tests {
		e, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := e.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
		again, err := Parse(e.String())
		if err != nil || again.String() != e.String() {
			t.Errorf("Parse(%q) = %q, %v; want it to read back as itself", e.String(), again, err)
		}
	}
}

// TestParseTree checks the shape of the tree where String would hide it.
func TestParseTree(t *testing.T) {
	e, err := Parse("//a - //b + //c")
	if err != nil {
		t.Fatal(err)
	}
	top, ok := e.(*Binary)
	if !ok || top.Op != Union || top.Offset != 10 {
		t.Fatalf("top = %#v, want the union at offset 10", e)
	}
	left, ok := top.Left.(*Binary)
	if !ok || left.Op != Except {
		t.Fatalf("left = %#v, want //a - //b", top.Left)
	}
	if w, ok := top.Right.(*Word); !ok || w.Text != "//c" || w.Offset != 12 {
		t.Errorf("right = %#v, want the word //c at 12", top.Right)
	}

	e, err = Parse(`deps("//a b", 3)`)
	if err != nil {
		t.Fatal(err)
	}
	c := e.(*Call)
	if c.Func != "deps" || len(c.Args) != 2 || c.Args[0].(*Word).Text != "//a b" || c.Args[1].(*Word).Text != "3" {
		t.Errorf("deps call = %#v", c)
	}
}

func TestParseErrors(t *testing.T) {
	runErrorCases(t, []errorCase{
		{expr: "", offset: 0, msg: "empty query expression"},
		{expr: "   ", offset: 0, msg: "empty query expression"},
		{expr: "deps(", offset: 5, msg: "unexpected end of expression: an expression is missing"},
		{expr: "deps(//a", offset: 8, msg: "expected ',' or ')' after argument 1 of deps, got end of expression"},
		{expr: "foo(//a)", offset: 0, msg: "unknown function foo (known: allpaths, attr, deps, filter, kind, rdeps, set, somepath)"},
		{expr: "dep(//a)", offset: 0, msg: "unknown function dep (known: allpaths, attr, deps, filter, kind, rdeps, set, somepath); did you mean deps?"},
		{expr: "deps()", offset: 0, msg: "too few arguments to deps; usage: deps(expr [, depth])"},
		{expr: "deps(//a, 1, 2)", offset: 13, msg: "too many arguments to deps; usage: deps(expr [, depth])"},
		{expr: "rdeps(//a)", offset: 0, msg: "too few arguments to rdeps; usage: rdeps(universe, expr [, depth])"},
		{expr: "attr(a, b)", offset: 0, msg: "too few arguments to attr; usage: attr(name, regex, expr)"},
		{expr: "somepath(//a, //b, //c)", offset: 19, msg: "too many arguments to somepath; usage: somepath(from, to)"},
		{expr: "deps(//a, x)", offset: 10, msg: `bad depth "x" in deps: want a non-negative integer`},
		{expr: "deps(//a, 1.5)", offset: 10, msg: `bad depth "1.5" in deps: want a non-negative integer`},
		{expr: "deps(//a, 99999999999999999999)", offset: 10, msg: `bad depth "99999999999999999999" in deps: want a non-negative integer`},
		{expr: "deps(//a, -1)", offset: 10, msg: `bad depth "-1" in deps: want a non-negative integer (leave it off for no bound)`},
		{expr: "rdeps(//a, //b, (1))", offset: 16, msg: "the depth argument of rdeps must be a word, got '('"},
		{expr: "kind('(', //...)", offset: 5, msg: "bad regular expression \"(\" in kind: missing closing ): `(`"},
		{expr: "filter('a**', //...)", offset: 7, msg: "bad regular expression \"a**\" in filter: invalid nested repetition operator: `**`"},
		{expr: "kind(image rule, //...)", offset: 11, msg: `expected ',' or ')' after argument 1 of kind, got word "rule" (quote a word holding spaces or symbols: "image rule")`},
		{expr: "kind($k, //...)", offset: 5, msg: "the regex argument of kind must be a word, got $k"},
		{expr: "attr(deps(//a), x, //...)", offset: 9, msg: "expected ',' or ')' after argument 1 of attr, got '('"},
		{expr: "//a +", offset: 5, msg: "unexpected end of expression: an expression is missing"},
		{expr: "//a + + //b", offset: 6, msg: "expected an expression, got '+'"},
		{expr: "(//a", offset: 4, msg: "expected ')' to close the '(' at offset 0, got end of expression"},
		{expr: "//a)", offset: 3, msg: "unbalanced ')'"},
		{expr: "//a //b", offset: 4, msg: `unexpected word "//b" after a complete expression; join expressions with + - ^`},
		{expr: "//a in //b", offset: 4, msg: `unexpected keyword "in" after a complete expression; join expressions with + - ^`},
		{expr: "'abc", offset: 0, msg: "unterminated quoted word: no closing '"},
		{expr: `//a + "b`, offset: 6, msg: `unterminated quoted word: no closing "`},
		{expr: "$", offset: 0, msg: "expected a variable name after '$'"},
		{expr: "$1", offset: 0, msg: "expected a variable name after '$'"},
		{expr: "//a & //b", offset: 4, msg: "unexpected character '&'; quote a word holding it"},
		{expr: "//a é", offset: 4, msg: "unexpected character 'é'; quote a word holding it"},
		{expr: "//a \xff", offset: 4, msg: "unexpected byte 0xff; quote a word holding it"},
		{expr: "let = //a in $x", offset: 4, msg: "expected a variable name (letters, digits, _) after let, got '='"},
		{expr: "let 'v' = //a in $v", offset: 4, msg: `expected a variable name (letters, digits, _) after let, got word "v"`},
		{expr: "let a.b = //a in $v", offset: 4, msg: `expected a variable name (letters, digits, _) after let, got word "a.b"`},
		{expr: "let v //a in $v", offset: 6, msg: `expected '=' after let v, got word "//a"`},
		{expr: "let v = //a $v", offset: 12, msg: "expected 'in' after the value of let v, got $v"},
		{expr: "let v = //a in", offset: 14, msg: "unexpected end of expression: an expression is missing"},
		{expr: "set(//a, //b)", offset: 7, msg: "set() takes target patterns separated by spaces, got ','"},
		{expr: "set(//a $v)", offset: 8, msg: "set() takes target patterns separated by spaces, got $v"},
		{expr: "set(//a", offset: 7, msg: "expected ')' to close set( at offset 0"},
		{expr: strings.Repeat("(", 1001) + "//a" + strings.Repeat(")", 1001), offset: 1000, msg: "expression nested too deeply (more than 1000 levels)"},
		{expr: `"deps"(//a)`, offset: 6, msg: `unexpected '(' after a complete expression; join expressions with + - ^`},
	})
}

func TestEvalErrors(t *testing.T) {
	runErrorCases(t, []errorCase{
		{expr: "$x", offset: 0, msg: "undefined variable $x; bind it first: let x = EXPR in ..."},
		{expr: "let v = //apps/api in $w", offset: 22, msg: "undefined variable $w; bind it first: let w = EXPR in ..."},
		{expr: "(let v = //apps/api in $v) + $v", offset: 29, msg: "undefined variable $v; bind it first: let v = EXPR in ..."},
		{expr: "deps(//apps/api + //nope/...)", offset: 18, msg: "no targets found beneath 'nope'"},
		{expr: "rdeps(//..., //base:al2024)", offset: 13, msg: "no such target '//base:al2024': target 'al2024' not declared in package 'base'; did you mean //base:al2023?"},
		// A misspelt attribute would match nothing, in silence.
		{expr: "attr(descripton, x, //...)", offset: 5, msg: `no target has an attribute "descripton"; did you mean description?`},
		{expr: "attr(nope, ., //...)", offset: 5, msg: `no target has an attribute "nope"`},
	})
}

func TestErrorText(t *testing.T) {
	_, err := Parse("deps(//a, x)")
	if got, want := err.Error(), `query: at offset 10: bad depth "x" in deps: want a non-negative integer`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := (&Error{Offset: -1, Msg: "m"}).Error(), "query: m"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestEvalHandBuilt checks that an expression built without Parse is
// checked as carefully as a parsed one.
func TestEvalHandBuilt(t *testing.T) {
	u := testUniverse()
	for _, e := range []Expr{
		&Call{Func: "nope"},
		&Call{Func: "deps"},
		&Call{Func: "deps", Args: []Expr{&Word{Text: "//apps/api"}, &Word{Text: "x"}}},
		&Call{Func: "kind", Args: []Expr{&Word{Text: "("}, &Word{Text: "//..."}}},
		&Call{Func: "attr", Args: []Expr{&Var{Name: "v"}, &Word{Text: "x"}, &Word{Text: "//..."}}},
		nil,
	} {
		_, err := Eval(t.Context(), u, e, "")
		var qe *Error
		if !errors.As(err, &qe) {
			t.Errorf("Eval(%v) = %v, want a *query.Error", e, err)
		}
	}
}
