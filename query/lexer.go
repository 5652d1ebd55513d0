package query

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokWord
	tokVar // $name
	tokLParen
	tokRParen
	tokComma
	tokEquals
	tokPlus
	tokMinus
	tokCaret
	// The keywords come last: token.String relies on it.
	tokLet
	tokIn
	tokUnion
	tokExcept
	tokIntersect
)

type token struct {
	kind   tokenKind
	pos    int    // byte offset of the token's first byte
	text   string // as written; a word without its quotes, a variable without its $
	quoted bool
}

// keywords are the reserved words; quoting one makes it a plain word.
var keywords = map[string]tokenKind{
	"let":       tokLet,
	"in":        tokIn,
	"union":     tokUnion,
	"except":    tokExcept,
	"intersect": tokIntersect,
}

var punctuation = map[byte]tokenKind{
	'(': tokLParen,
	')': tokRParen,
	',': tokComma,
	'=': tokEquals,
	'+': tokPlus,
	'-': tokMinus,
	'^': tokCaret,
}

func (t token) String() string {
	switch {
	case t.kind == tokEOF:
		return "end of expression"
	case t.kind == tokWord:
		return fmt.Sprintf("word %q", t.text)
	case t.kind == tokVar:
		return "$" + t.text
	case t.kind >= tokLet:
		return fmt.Sprintf("keyword %q", t.text)
	}
	return "'" + t.text + "'"
}

// isWordByte reports whether b may appear in an unquoted word: what labels,
// patterns and simple regexes are made of. '-' and '+' are operators where a
// token starts, and part of the word inside one (//a/b-c), as in Bazel.
func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' ||
		strings.IndexByte("/@._:~*[]$-+", b) >= 0
}

func isWordStart(b byte) bool {
	return isWordByte(b) && b != '-' && b != '+' && b != '$'
}

func isIdentByte(b byte, first bool) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_' || !first && b >= '0' && b <= '9'
}

// isIdent reports whether s can name a variable.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isIdentByte(s[i], i == 0) {
			return false
		}
	}
	return true
}

// lex splits expr into tokens, ending with tokEOF.
func lex(expr string) ([]token, error) {
	var toks []token
	i := 0
	for {
		for i < len(expr) && strings.IndexByte(" \t\r\n", expr[i]) >= 0 {
			i++
		}
		if i == len(expr) {
			return append(toks, token{kind: tokEOF, pos: i}), nil
		}
		start, c := i, expr[i]
		if k, ok := punctuation[c]; ok {
			toks = append(toks, token{kind: k, pos: start, text: string(c)})
			i++
			continue
		}
		switch {
		case c == '"' || c == '\'':
			// No escapes, as in Bazel: a word holding one kind of quote is
			// quoted with the other.
			end := strings.IndexByte(expr[i+1:], c)
			if end < 0 {
				return nil, errorf(start, "unterminated quoted word: no closing %c", c)
			}
			text := expr[i+1 : i+1+end]
			toks = append(toks, token{kind: tokWord, pos: start, text: text, quoted: true})
			i += end + 2
		case c == '$':
			i++
			for i < len(expr) && isIdentByte(expr[i], i == start+1) {
				i++
			}
			if i == start+1 {
				return nil, errorf(start, "expected a variable name after '$'")
			}
			toks = append(toks, token{kind: tokVar, pos: start, text: expr[start+1 : i]})
		case isWordStart(c):
			for i < len(expr) && isWordByte(expr[i]) {
				i++
			}
			text := expr[start:i]
			if k, ok := keywords[text]; ok {
				toks = append(toks, token{kind: k, pos: start, text: text})
			} else {
				toks = append(toks, token{kind: tokWord, pos: start, text: text})
			}
		default:
			r, _ := utf8.DecodeRuneInString(expr[i:])
			if r == utf8.RuneError {
				return nil, errorf(start, "unexpected byte 0x%02x; quote a word holding it", c)
			}
			return nil, errorf(start, "unexpected character %q; quote a word holding it", r)
		}
	}
}
