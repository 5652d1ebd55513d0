package rules

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Error is a mistake in the user's Starlark files: where it is, what is wrong,
// and what to do about it.
type Error struct {
	Pos  Pos
	Msg  string
	Line string // the source line at Pos, shown under the message
	Hint string // what to do, when there is something to say
	// Via are the other calls that led to the error, shown under it: the
	// calls inside the macros an IMAGES.star line called, or the line that
	// called the macro an error is in.
	Via []Call
}

// Call is one call on the way to an error: what it was to it ("in a
// macro, at", "called from"), where, and its source line.
type Call struct {
	Note string
	Pos  Pos
	Line string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Pos.File != "" {
		fmt.Fprintf(&b, "%s: ", e.Pos)
	}
	b.WriteString(e.Msg)
	if e.Line != "" {
		b.WriteString("\n    ")
		b.WriteString(strings.TrimRight(strings.ReplaceAll(e.Line, "\t", " "), " "))
		if e.Pos.Col > 0 {
			b.WriteString("\n    ")
			b.WriteString(strings.Repeat(" ", int(e.Pos.Col-1)))
			b.WriteString("^")
		}
	}
	for _, c := range e.Via {
		fmt.Fprintf(&b, "\n  %s %s", c.Note, c.Pos)
		if c.Line != "" {
			b.WriteString(": ")
			b.WriteString(strings.TrimSpace(c.Line))
		}
	}
	if e.Hint != "" {
		b.WriteString("\n  hint: ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// BadInput marks the error as the user's to fix (exit code 2).
func (e *Error) BadInput() bool { return true }

// String prints file:line:col, or file:line when the column is unknown.
func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// ErrorList is every configuration error of one run, reported together.
type ErrorList []*Error

func (l ErrorList) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = "error: " + e.Error()
	}
	if len(l) > 1 {
		parts = append(parts, fmt.Sprintf("%d errors", len(l)))
	}
	return strings.Join(parts, "\n")
}

// BadInput marks the errors as the user's to fix (exit code 2).
func (l ErrorList) BadInput() bool { return true }

// sorted orders the errors by file and position and drops exact repeats.
func (l ErrorList) sorted() ErrorList {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Pos, l[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	out := l[:0]
	for i, e := range l {
		if i > 0 && e.Pos == l[i-1].Pos && e.Msg == l[i-1].Msg {
			continue
		}
		out = append(out, e)
	}
	return out
}

// sources holds the text of every Starlark file read, to quote source lines.
type sources interface {
	line(file string, line int32) string
}

// fromStarlark turns an error out of the Starlark interpreter into Errors
// with positions and source lines.
func fromStarlark(err error, src sources) ErrorList {
	var (
		synErr  syntax.Error
		resErrs resolve.ErrorList
		evalErr *starlark.EvalError
		ours    *Error
		list    ErrorList
	)
	switch {
	case errors.As(err, &list):
		return list
	case errors.As(err, &ours):
		return ErrorList{ours}
	case errors.As(err, &synErr):
		return ErrorList{at(posOf(synErr.Pos), src, "syntax error: %s", synErr.Msg)}
	case errors.As(err, &resErrs):
		var l ErrorList
		for _, e := range resErrs {
			l = append(l, at(posOf(e.Pos), src, "%s", e.Msg))
		}
		return l
	case errors.As(err, &evalErr):
		// A builtin that failed with one of our errors already knows its place.
		if errors.As(evalErr.Unwrap(), &ours) {
			return ErrorList{ours}
		}
		if errors.As(evalErr.Unwrap(), &list) {
			return list
		}
		pos := innermost(evalErr.CallStack)
		l, isLoader := src.(*Loader)
		if isLoader {
			pos = l.callee(pos)
		}
		if strings.HasSuffix(evalErr.Msg, "too many steps") && isLoader {
			e := at(pos, src, "%s ran for more than %d Starlark steps and was stopped here", pos.File, l.maxSteps)
			e.Hint = "does a loop never end? Declaring images takes far fewer steps"
			return ErrorList{e}
		}
		e := at(pos, src, "%s", evalErr.Msg)
		e.Via = callers(evalErr.CallStack, pos, src)
		return ErrorList{e}
	}
	return ErrorList{{Msg: err.Error()}}
}

// innermost is the deepest frame of a call stack that is in a user's file
// (frames of builtins have no file).
func innermost(stack starlark.CallStack) Pos {
	for i := len(stack) - 1; i >= 0; i-- {
		if f := stack[i].Pos; f.Filename() != "" && f.Filename() != "<builtin>" {
			return posOf(f)
		}
	}
	return Pos{}
}

// callers are the calls in other files than the error's (at pos) that
// led to it: the IMAGES.star line that called the macro, innermost first.
func callers(stack starlark.CallStack, pos Pos, src sources) []Call {
	var out []Call
	for i := len(stack) - 1; i >= 0; i-- {
		f := posOf(stack[i].Pos)
		if f.File == "" || f.File == "<builtin>" || f.File == pos.File {
			continue
		}
		if l, ok := src.(*Loader); ok {
			f = l.callee(f)
		}
		out = append(out, Call{Note: "called from", Pos: f, Line: src.line(f.File, f.Line)})
	}
	return out
}

func posOf(p syntax.Position) Pos {
	return Pos{File: p.Filename(), Line: p.Line, Col: p.Col}
}

// at makes an Error at pos, quoting its source line.
func at(pos Pos, src sources, format string, args ...any) *Error {
	e := &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
	if src != nil && pos.Line > 0 {
		e.Line = src.line(pos.File, pos.Line)
	}
	return e
}

// asErrorList is err as a list of errors to report with others.
func asErrorList(err error) ErrorList {
	var list ErrorList
	if errors.As(err, &list) {
		return list
	}
	var e *Error
	if errors.As(err, &e) {
		return ErrorList{e}
	}
	return ErrorList{{Msg: err.Error()}}
}
