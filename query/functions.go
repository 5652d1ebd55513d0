package query

import (
	"errors"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"

	"github.com/imgraph/imgraph/label"
)

// paramKind says how an argument is parsed and checked.
type paramKind int

const (
	exprParam  paramKind = iota // any expression
	wordParam                   // a word: an attribute's name
	regexParam                  // a word holding a regular expression
	depthParam                  // a word holding a non-negative integer
)

type param struct {
	name string
	kind paramKind
}

// function is a query function: its signature, for the parser, and its
// evaluation. Each lives in its own file.
type function struct {
	name     string
	params   []param
	required int // the first required params must be given; the rest may be left off
	eval     func(ev *evaluator, args []Expr) (nodeSet, error)
}

// functionNames lists the functions called with parentheses, for "did you
// mean" hints. set() is parsed apart: its arguments are words without commas.
var functionNames = []string{"allpaths", "attr", "deps", "filter", "kind", "rdeps", "set", "somepath"}

// lookupFunction returns the function called name. The functions are built
// on demand rather than held in a package variable, whose initializer would
// refer to itself through eval.
func lookupFunction(name string) (*function, bool) {
	switch name {
	case "deps":
		return depsFunction(), true
	case "rdeps":
		return rdepsFunction(), true
	case "allpaths":
		return allpathsFunction(), true
	case "somepath":
		return somepathFunction(), true
	case "kind":
		return kindFunction(), true
	case "attr":
		return attrFunction(), true
	case "filter":
		return filterFunction(), true
	}
	return nil, false
}

// usage prints the signature, e.g. rdeps(universe, expr [, depth]).
func (f *function) usage() string {
	var b strings.Builder
	b.WriteString(f.name + "(")
	for i, p := range f.params {
		switch {
		case i == f.required:
			if i > 0 {
				b.WriteString(" [, ")
			} else {
				b.WriteString("[")
			}
		case i > 0:
			b.WriteString(", ")
		}
		b.WriteString(p.name)
	}
	if f.required < len(f.params) {
		b.WriteString("]")
	}
	return b.String() + ")"
}

// checkWordArg checks a word argument when it is parsed, so a bad regex or
// depth is reported with its place before anything is evaluated.
func (f *function) checkWordArg(p param, w *Word) error {
	switch p.kind {
	case regexParam:
		if _, err := regexp.Compile(w.Text); err != nil {
			return errorf(w.Offset, "bad regular expression %q in %s: %v", w.Text, f.name, regexpReason(err))
		}
	case depthParam:
		if _, err := parseDepth(w.Text); err != nil {
			return errorf(w.Offset, "bad depth %q in %s: want a non-negative integer", w.Text, f.name)
		}
	}
	return nil
}

func regexpReason(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		return string(se.Code) + ": `" + se.Expr + "`"
	}
	return err.Error()
}

func parseDepth(s string) (int, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, strconv.ErrSyntax
	}
	return strconv.Atoi(s)
}

// depthArg returns the depth at args[i], or -1 (unbounded) when left off.
func depthArg(args []Expr, i int) (int, error) {
	if i >= len(args) {
		return -1, nil
	}
	w, ok := args[i].(*Word)
	if !ok {
		return 0, errorf(args[i].Pos(), "the depth must be a word")
	}
	d, err := parseDepth(w.Text)
	if err != nil {
		return 0, errorf(w.Offset, "bad depth %q: want a non-negative integer", w.Text)
	}
	return d, nil
}

// regexArg compiles the regular expression at args[i].
func regexArg(args []Expr, i int) (*regexp.Regexp, error) {
	w, ok := args[i].(*Word)
	if !ok {
		return nil, errorf(args[i].Pos(), "the regular expression must be a word")
	}
	re, err := regexp.Compile(w.Text)
	if err != nil {
		return nil, errorf(w.Offset, "bad regular expression %q: %v", w.Text, regexpReason(err))
	}
	return re, nil
}

// suggestFunction returns "; did you mean NAME?" for a misspelt function.
func suggestFunction(name string) string {
	if near, ok := label.Nearest(name, functionNames); ok {
		return "; did you mean " + near + "?"
	}
	return ""
}
