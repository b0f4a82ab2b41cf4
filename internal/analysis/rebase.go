package analysis

import (
	"bytes"
	"go/scanner"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
)

// edit is a change Rebased accepted: in File, the bytes [Start, OldEnd) of the previous content
// became [Start, NewEnd) of the new one.
type edit struct {
	file                  string
	start, oldEnd, newEnd int
}

// Rebased returns the package as it applies to src, the new content of file, without checking
// anything again, when the change from the content p was analysed from cannot change what the
// analysis found: one contiguous change inside one function body, after the function's
// instrumentation and span code and outside any parentheses, that adds or removes no call,
// brace, declaration (:=, var, const, type, func, label), go or defer statement, string literal,
// or comment mentioning autometrics or a compiler directive. Typing inside a body (an
// assignment, arithmetic, a return value, a comment) is such a change; the type information of
// every call, receiver and import stays what it was.
//
// Offsets after the change move with it; FunctionAt on the changed text itself finds nothing.
// ok is false when the change may matter (or p has no type information): the caller then loads
// the package again. p itself is not modified.
func (p *Package) Rebased(file string, src []byte) (*Package, bool) {
	file = filepath.Clean(file)
	old, have := p.sources[file]
	if !have || p.info == nil {
		return nil, false
	}
	if bytes.Equal(old, src) {
		return p, true
	}
	start := commonPrefix(old, src)
	suffix := commonPrefix(reversed(old[start:]), reversed(src[start:]))
	oldEnd, newEnd := len(old)-suffix, len(src)-suffix
	delta := newEnd - oldEnd

	var fn *Function
	for _, f := range p.Functions {
		if f.DeclSpan.File == file && f.DeclSpan.Start < start && oldEnd < f.DeclSpan.End {
			fn = f
		}
	}
	if fn == nil {
		return nil, false
	}
	// Below the instrumentation and span code: detection reads the top of the body.
	for _, s := range fn.InstrumentationSpans {
		if s.File == file && start < s.End {
			return nil, false
		}
	}
	if fn.Trace != nil && fn.Trace.Span.File == file && start < fn.Trace.Span.End {
		return nil, false
	}
	oldToks := scanTokens(old[fn.DeclSpan.Start:fn.DeclSpan.End], fn.DeclSpan.Start)
	newToks := scanTokens(src[fn.DeclSpan.Start:fn.DeclSpan.End+delta], fn.DeclSpan.Start)
	lbrace := bodyStart(oldToks)
	if lbrace < 0 || len(oldToks) == 0 || oldToks[len(oldToks)-1].tok != token.RBRACE ||
		start <= oldToks[lbrace].off || oldEnd > oldToks[len(oldToks)-1].off {
		return nil, false // not strictly inside the body
	}
	// The tokens that differ, and the parentheses open where they start.
	i := 0
	for i < len(oldToks) && i < len(newToks) && oldToks[i].same(newToks[i]) {
		i++
	}
	j := 0
	for j < len(oldToks)-i && j < len(newToks)-i && oldToks[len(oldToks)-1-j].same(newToks[len(newToks)-1-j]) {
		j++
	}
	if i <= lbrace || j == 0 {
		return nil, false
	}
	depth := 0
	for _, t := range oldToks[lbrace+1 : i] {
		switch t.tok {
		case token.LPAREN:
			depth++
		case token.RPAREN:
			depth--
		}
	}
	if depth != 0 {
		return nil, false // inside a call or conversion: its arguments may be what detection reads
	}
	// Nor the callee of a call: f, x.f and x.f[T] before '('.
	for _, t := range oldToks[len(oldToks)-j:] {
		if t.tok == token.LPAREN {
			return nil, false
		}
		if t.tok != token.IDENT && t.tok != token.PERIOD && t.tok != token.LBRACK && t.tok != token.RBRACK {
			break
		}
	}
	for _, t := range slices.Concat(oldToks[i:len(oldToks)-j], newToks[i:len(newToks)-j]) {
		if !harmlessInBody(t) {
			return nil, false
		}
	}

	q := *p
	q.sources = make(map[string][]byte, len(p.sources))
	for k, v := range p.sources {
		q.sources[k] = v
	}
	q.sources[file] = src
	q.edits = append(slices.Clip(p.edits), edit{file: file, start: start, oldEnd: oldEnd, newEnd: newEnd})
	move := func(s Span) Span {
		if s.File == file {
			if s.Start >= oldEnd {
				s.Start += delta
			}
			if s.End >= oldEnd {
				s.End += delta
			}
		}
		return s
	}
	q.Functions = make([]*Function, len(p.Functions))
	for k, f := range p.Functions {
		if f.DeclSpan.File != file || f.DeclSpan.End < oldEnd {
			q.Functions[k] = f
			continue
		}
		c := *f
		c.NameSpan, c.DeclSpan = move(f.NameSpan), move(f.DeclSpan)
		c.InstrumentationSpans = nil
		for _, s := range f.InstrumentationSpans {
			c.InstrumentationSpans = append(c.InstrumentationSpans, move(s))
		}
		if f.Directive != nil {
			d := *f.Directive
			d.Span = move(d.Span)
			c.Directive = &d
		}
		if f.Trace != nil {
			tr := *f.Trace
			tr.Span = move(tr.Span)
			c.Trace = &tr
		}
		q.Functions[k] = &c
	}
	return &q, true
}

// toAnalysed maps an offset in the current content of file to the content its syntax was
// parsed from; ok is false inside text an accepted edit changed.
func (p *Package) toAnalysed(file string, offset int) (int, bool) {
	for k := len(p.edits) - 1; k >= 0; k-- {
		e := p.edits[k]
		switch {
		case e.file != file || offset < e.start:
		case offset >= e.newEnd:
			offset -= e.newEnd - e.oldEnd
		default:
			return 0, false
		}
	}
	return offset, true
}

// fromAnalysed maps an offset of the parsed content of file to its current content.
func (p *Package) fromAnalysed(file string, offset int) int {
	for _, e := range p.edits {
		if e.file == file && offset >= e.oldEnd {
			offset += e.newEnd - e.oldEnd
		}
	}
	return offset
}

type scannedToken struct {
	off int
	tok token.Token
	lit string
}

func (t scannedToken) same(u scannedToken) bool { return t.tok == u.tok && t.lit == u.lit }

// scanTokens returns the tokens of src (comments included) with offsets plus base.
func scanTokens(src []byte, base int) []scannedToken {
	fset := token.NewFileSet()
	tf := fset.AddFile("", -1, len(src))
	var s scanner.Scanner
	s.Init(tf, src, nil, scanner.ScanComments)
	var out []scannedToken
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			if n := len(out); n > 0 && out[n-1].tok == token.SEMICOLON && out[n-1].lit == ";" && out[n-1].off == base+len(src) {
				out = out[:n-1] // the one inserted at the end of the text
			}
			return out
		}
		if tok == token.SEMICOLON && lit == "\n" {
			lit = ";" // where a line ends does not matter
		}
		out = append(out, scannedToken{off: base + tf.Offset(pos), tok: tok, lit: lit})
	}
}

// bodyStart returns the index of the '{' that opens the body of the function declaration toks,
// or -1: the first '{' outside parentheses and brackets that does not open a struct or interface
// type.
func bodyStart(toks []scannedToken) int {
	depth := 0
	for k := 0; k < len(toks); k++ {
		switch toks[k].tok {
		case token.LPAREN, token.LBRACK:
			depth++
		case token.RPAREN, token.RBRACK:
			depth--
		case token.STRUCT, token.INTERFACE:
			if k+1 < len(toks) && toks[k+1].tok == token.LBRACE {
				// skip the type literal
				braces := 0
				for k++; k < len(toks); k++ {
					if toks[k].tok == token.LBRACE {
						braces++
					} else if toks[k].tok == token.RBRACE {
						braces--
						if braces == 0 {
							break
						}
					}
				}
			}
		case token.LBRACE:
			if depth == 0 {
				return k
			}
		}
	}
	return -1
}

// harmlessInBody reports whether adding or removing t inside a body, outside parentheses, leaves
// every call, declaration and scope of the function as it was.
func harmlessInBody(t scannedToken) bool {
	switch t.tok {
	case token.COMMENT:
		c := t.lit
		return !strings.Contains(c, "autometrics") && !strings.HasPrefix(c, "//go:") &&
			!strings.HasPrefix(c, "//line") && !strings.HasPrefix(c, "/*line")
	case token.IDENT, token.INT, token.FLOAT, token.IMAG, token.CHAR,
		token.SEMICOLON, token.COMMA, token.PERIOD, token.LBRACK, token.RBRACK,
		token.ASSIGN, token.ADD_ASSIGN, token.SUB_ASSIGN, token.MUL_ASSIGN, token.QUO_ASSIGN,
		token.REM_ASSIGN, token.AND_ASSIGN, token.OR_ASSIGN, token.XOR_ASSIGN, token.SHL_ASSIGN,
		token.SHR_ASSIGN, token.AND_NOT_ASSIGN, token.INC, token.DEC,
		token.ADD, token.SUB, token.MUL, token.QUO, token.REM, token.AND, token.OR, token.XOR,
		token.SHL, token.SHR, token.AND_NOT, token.LAND, token.LOR, token.NOT, token.ARROW,
		token.EQL, token.NEQ, token.LSS, token.GTR, token.LEQ, token.GEQ,
		token.RETURN, token.BREAK, token.CONTINUE:
		return true
	}
	return false
}

func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

func reversed(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[len(b)-1-i] = c
	}
	return out
}
