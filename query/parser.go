package query

import "strings"

// Parse parses a query expression. Every error is a *Error giving the
// byte offset of the mistake.
//
//	expr    = primary { ("+" | "-" | "^" | "union" | "except" | "intersect") primary }
//	primary = word | "$" name | "(" expr ")" | "let" name "=" expr "in" expr
//	        | "set" "(" { word } ")" | name "(" arg { "," arg } ")"
func Parse(expr string) (Expr, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	if p.peek().kind == tokEOF {
		return nil, errorf(0, "empty query expression")
	}
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		if t.kind == tokRParen {
			return nil, errorf(t.pos, "unbalanced ')'")
		}
		return nil, errorf(t.pos, "unexpected %s after a complete expression; join expressions with + - ^", t)
	}
	return e, nil
}

type parser struct {
	toks  []token
	i     int
	depth int // of nested parentheses, calls and lets
}

// maxDepth bounds nesting, so that a hostile expression of a million '('
// is an error rather than a stack overflow.
const maxDepth = 1000

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

var binaryOps = map[tokenKind]Op{
	tokPlus: Union, tokUnion: Union,
	tokMinus: Except, tokExcept: Except,
	tokCaret: Intersect, tokIntersect: Intersect,
}

// expr parses operands joined by operators of equal precedence, left to right.
func (p *parser) expr() (Expr, error) {
	left, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		op, ok := binaryOps[p.peek().kind]
		if !ok {
			return left, nil
		}
		opTok := p.next()
		right, err := p.primary()
		if err != nil {
			return nil, err
		}
		left = &Binary{Offset: opTok.pos, Op: op, Left: left, Right: right}
	}
}

func (p *parser) primary() (Expr, error) {
	t := p.next()
	if p.depth++; p.depth > maxDepth {
		return nil, errorf(t.pos, "expression nested too deeply (more than %d levels)", maxDepth)
	}
	defer func() { p.depth-- }()
	switch t.kind {
	case tokWord:
		if !t.quoted && p.peek().kind == tokLParen {
			if t.text == "set" {
				return p.set(t)
			}
			return p.call(t)
		}
		return &Word{Offset: t.pos, Text: t.text}, nil
	case tokVar:
		return &Var{Offset: t.pos, Name: t.text}, nil
	case tokLet:
		return p.let(t)
	case tokLParen:
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokRParen {
			return nil, errorf(c.pos, "expected ')' to close the '(' at offset %d, got %s", t.pos, c)
		}
		return e, nil
	case tokEOF:
		return nil, errorf(t.pos, "unexpected end of expression: an expression is missing")
	}
	return nil, errorf(t.pos, "expected an expression, got %s", t)
}

// let parses let NAME = VALUE in BODY; the body reaches as far right as it can.
func (p *parser) let(letTok token) (Expr, error) {
	name := p.next()
	if name.kind != tokWord || name.quoted || !isIdent(name.text) {
		return nil, errorf(name.pos, "expected a variable name (letters, digits, _) after let, got %s", name)
	}
	if eq := p.next(); eq.kind != tokEquals {
		return nil, errorf(eq.pos, "expected '=' after let %s, got %s", name.text, eq)
	}
	value, err := p.expr()
	if err != nil {
		return nil, err
	}
	if in := p.next(); in.kind != tokIn {
		return nil, errorf(in.pos, "expected 'in' after the value of let %s, got %s", name.text, in)
	}
	body, err := p.expr()
	if err != nil {
		return nil, err
	}
	return &Let{Offset: letTok.pos, Name: name.text, Value: value, Body: body}, nil
}

// set parses set(word word ...): words only, separated by spaces.
func (p *parser) set(setTok token) (Expr, error) {
	p.next() // (
	s := &Set{Offset: setTok.pos}
	for {
		t := p.next()
		switch t.kind {
		case tokRParen:
			return s, nil
		case tokWord:
			s.Words = append(s.Words, &Word{Offset: t.pos, Text: t.text})
		case tokEOF:
			return nil, errorf(t.pos, "expected ')' to close set( at offset %d", setTok.pos)
		default:
			return nil, errorf(t.pos, "set() takes target patterns separated by spaces, got %s", t)
		}
	}
}

func (p *parser) call(nameTok token) (Expr, error) {
	f, ok := lookupFunction(nameTok.text)
	if !ok {
		return nil, errorf(nameTok.pos, "unknown function %s (known: %s)%s",
			nameTok.text, strings.Join(functionNames, ", "), suggestFunction(nameTok.text))
	}
	p.next() // (
	c := &Call{Offset: nameTok.pos, Func: f.name}
	if t := p.peek(); t.kind == tokRParen {
		p.next()
	} else {
		for {
			if len(c.Args) == len(f.params) {
				return nil, errorf(p.peek().pos, "too many arguments to %s; usage: %s", f.name, f.usage())
			}
			arg, err := p.arg(f, f.params[len(c.Args)])
			if err != nil {
				return nil, err
			}
			c.Args = append(c.Args, arg)
			t := p.next()
			if t.kind == tokRParen {
				break
			}
			if t.kind != tokComma {
				return nil, errorf(t.pos, "expected ',' or ')' after argument %d of %s, got %s%s",
					len(c.Args), f.name, t, quoteHint(t))
			}
		}
	}
	if len(c.Args) < f.required {
		return nil, errorf(nameTok.pos, "too few arguments to %s; usage: %s", f.name, f.usage())
	}
	return c, nil
}

func (p *parser) arg(f *function, par param) (Expr, error) {
	if par.kind == exprParam {
		return p.expr()
	}
	t := p.next()
	if par.kind == depthParam && t.kind == tokMinus {
		// -1 reads as the minus operator, then a word.
		depth := "-"
		if n := p.peek(); n.kind == tokWord {
			depth += n.text
		}
		return nil, errorf(t.pos, "bad depth %q in %s: want a non-negative integer (leave it off for no bound)", depth, f.name)
	}
	if t.kind != tokWord {
		return nil, errorf(t.pos, "the %s argument of %s must be a word, got %s%s", par.name, f.name, t, quoteHint(t))
	}
	w := &Word{Offset: t.pos, Text: t.text}
	if err := f.checkWordArg(par, w); err != nil {
		return nil, err
	}
	return w, nil
}

// quoteHint suggests quotes where a word was probably cut short by a space
// or an operator character, as in kind(image rule, //...).
func quoteHint(t token) string {
	if _, isOp := binaryOps[t.kind]; isOp || t.kind == tokWord || t.kind >= tokLet {
		return ` (quote a word holding spaces or symbols: "image rule")`
	}
	return ""
}
