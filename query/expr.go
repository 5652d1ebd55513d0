package query

import "strings"

// Expr is a parsed query expression. String prints it in a canonical form
// that parses back to the same expression.
type Expr interface {
	// Pos is the byte offset in the expression of the token that makes
	// this part: its word, $, let, set or function name, or its operator.
	Pos() int
	String() string
	isExpr()
}

// Word is a target pattern (//apps/..., :api) or, as a function's argument,
// a regular expression, an attribute's name or a depth.
type Word struct {
	Offset int
	Text   string // without the quotes it may have been written in
}

// Var is a reference to a let-bound variable: $name.
type Var struct {
	Offset int
	Name   string
}

// Let binds Name to the value of Value while Body is evaluated.
type Let struct {
	Offset int
	Name   string
	Value  Expr
	Body   Expr
}

// Set is set(a b c): the union of the targets its words name.
type Set struct {
	Offset int
	Words  []*Word
}

// Call applies a query function to its arguments, e.g. deps(//a, 2).
// Arguments that are a regex, a name or a depth are *Word.
type Call struct {
	Offset int
	Func   string
	Args   []Expr
}

// Op is a set operator. All three have the same precedence and associate
// to the left, as in Bazel.
type Op int

const (
	Union     Op = iota // + or union
	Except              // - or except
	Intersect           // ^ or intersect
)

func (op Op) String() string { return [...]string{"+", "-", "^"}[op] }

// Binary is Left Op Right.
type Binary struct {
	Offset int // of the operator
	Op     Op
	Left   Expr
	Right  Expr
}

func (e *Word) Pos() int   { return e.Offset }
func (e *Var) Pos() int    { return e.Offset }
func (e *Let) Pos() int    { return e.Offset }
func (e *Set) Pos() int    { return e.Offset }
func (e *Call) Pos() int   { return e.Offset }
func (e *Binary) Pos() int { return e.Offset }

func (*Word) isExpr()   {}
func (*Var) isExpr()    {}
func (*Let) isExpr()    {}
func (*Set) isExpr()    {}
func (*Call) isExpr()   {}
func (*Binary) isExpr() {}

// String quotes the word when the lexer would not read it back as this
// word: when it is empty, a keyword, starts like an operator or variable,
// or holds a byte that ends an unquoted word.
func (e *Word) String() string {
	if !needsQuotes(e.Text) {
		return e.Text
	}
	if strings.Contains(e.Text, `"`) {
		return "'" + e.Text + "'"
	}
	return `"` + e.Text + `"`
}

func needsQuotes(s string) bool {
	if s == "" || !isWordStart(s[0]) {
		return true
	}
	if _, ok := keywords[s]; ok {
		return true
	}
	for i := 0; i < len(s); i++ {
		if !isWordByte(s[i]) {
			return true
		}
	}
	return false
}

func (e *Var) String() string { return "$" + e.Name }

func (e *Let) String() string {
	return "let " + e.Name + " = " + e.Value.String() + " in " + e.Body.String()
}

func (e *Set) String() string {
	words := make([]string, len(e.Words))
	for i, w := range e.Words {
		words[i] = w.String()
	}
	return "set(" + strings.Join(words, " ") + ")"
}

func (e *Call) String() string {
	args := make([]string, len(e.Args))
	for i, a := range e.Args {
		args[i] = a.String()
	}
	return e.Func + "(" + strings.Join(args, ", ") + ")"
}

// String adds only the parentheses the parse needs: a binary right operand
// (operators associate left) and a let anywhere in an operand (its body
// would swallow the rest of the expression).
func (e *Binary) String() string {
	left, right := e.Left.String(), e.Right.String()
	if _, ok := e.Left.(*Let); ok {
		left = "(" + left + ")"
	}
	switch e.Right.(type) {
	case *Let, *Binary:
		right = "(" + right + ")"
	}
	return left + " " + e.Op.String() + " " + right
}
