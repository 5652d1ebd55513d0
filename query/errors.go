package query

import "fmt"

// Error is a mistake in a query expression, or in what it names: a syntax
// error, an unknown function, a target that does not exist. It is bad input.
type Error struct {
	Offset int // byte offset into the expression; -1 when it has no place there
	Msg    string
}

func (e *Error) Error() string {
	if e.Offset < 0 {
		return "query: " + e.Msg
	}
	return fmt.Sprintf("query: at offset %d: %s", e.Offset, e.Msg)
}

// BadInput marks the error as the user's to fix (exit code 2).
func (e *Error) BadInput() bool { return true }

func errorf(offset int, format string, args ...any) *Error {
	return &Error{Offset: offset, Msg: fmt.Sprintf(format, args...)}
}
