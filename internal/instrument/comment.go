package instrument

import (
	"fmt"
	"go/ast"
	"regexp"
	"strings"
)

// isCommentDirective reports whether a // comment is a directive in gofmt's sense
// ("//[a-z0-9]+:[a-z0-9]", "//line ", "//extern ", "//export "). gofmt keeps such lines at the
// end of a doc comment, after a "//" line that separates them from the text.
func isCommentDirective(text string) bool {
	c, ok := strings.CutPrefix(text, "//")
	if !ok {
		return false
	}
	if strings.HasPrefix(c, "line ") || strings.HasPrefix(c, "extern ") || strings.HasPrefix(c, "export ") {
		return true
	}
	colon := strings.Index(c, ":")
	if colon <= 0 || colon+1 >= len(c) {
		return false
	}
	for i := 0; i <= colon+1; i++ {
		if i == colon {
			continue
		}
		if b := c[i]; !('a' <= b && b <= 'z' || '0' <= b && b <= '9') {
			return false
		}
	}
	return true
}

// addDirective returns the insertion of the directive line into decl's doc comment: after the
// last line, with a "//" line before it when the comment ends in text (gofmt's layout of a doc
// comment with directives). Without a doc comment, the directive becomes one.
func addDirective(f *file, decl *ast.FuncDecl, directive string) Edit {
	if decl.Doc == nil || len(decl.Doc.List) == 0 {
		at := f.off(decl.Pos())
		ls := f.lineStart(at)
		if !f.blank(ls, at) {
			return Edit{Start: at, End: at, NewText: directive + "\n"}
		}
		text := f.indentOf(at) + directive + "\n"
		// gofmt puts a blank line before a declaration with a doc comment.
		if ls > 0 {
			prev := f.lineStart(ls - 1)
			// (After the package clause, the import the actions add brings the blank line.)
			if blank, _ := f.blankLineAt(prev); !blank && prev > f.lineStart(f.off(f.ast.Name.End())) {
				text = "\n" + text
			}
		}
		return Edit{Start: ls, End: ls, NewText: text}
	}
	last := decl.Doc.List[len(decl.Doc.List)-1]
	at := f.off(last.End())
	indent := "\n" + f.indentOf(f.off(last.Pos()))
	allLines := true
	for _, c := range decl.Doc.List {
		if !strings.HasPrefix(c.Text, "//") {
			allLines = false
		}
	}
	text := indent + directive
	if allLines && !isCommentDirective(last.Text) && strings.TrimSpace(last.Text) != "//" {
		text = indent + "//" + text
	}
	return Edit{Start: at, End: at, NewText: text}
}

var (
	// linkDef matches a doc-comment link definition, "// [Request Rate]: http://…".
	linkDef = regexp.MustCompile(`^//\s*\[([^\]]+)\]:\s`)
	// docFence matches the lines that fence the generator's documentation block,
	// "//\tautometrics:doc-start Generated documentation by Autometrics." (gofmt may turn the
	// tab into spaces).
	docFence = regexp.MustCompile(`^//\s+autometrics:doc-(start|end)\b`)
	// linkRef matches a link reference, "[Request Rate]".
	linkRef = regexp.MustCompile(`\[([^\]]+)\]`)
)

// removeDirective returns the deletions that take the directive line out of decl's doc comment,
// with what only the generator writes next to it: the fenced block between
// "autometrics:doc-start" and "autometrics:doc-end" with its separator lines, the link
// definitions that block refers to, and the "//" line left dangling at the end. A doc comment
// left with nothing but "//" lines is deleted whole. Other lines are kept byte for byte.
//
// With keepDirective, the directive line stays and only what the generator wrote goes.
func removeDirective(f *file, decl *ast.FuncDecl, directive *ast.Comment, keepDirective bool) []Edit {
	list := decl.Doc.List
	gone := make([]bool, len(list))
	for i, c := range list {
		if c == directive && !keepDirective {
			gone[i] = true
		}
	}
	blankLine := func(i int) bool { return i >= 0 && i < len(list) && strings.TrimSpace(list[i].Text) == "//" }
	start, end := -1, -1
	for i, c := range list {
		if m := docFence.FindStringSubmatch(c.Text); m != nil {
			if m[1] == "start" && start < 0 {
				start = i
			} else if m[1] == "end" {
				end = i
			}
		}
	}
	if start >= 0 && end > start {
		labels := map[string]bool{}
		for i := start; i <= end; i++ {
			gone[i] = true
			for _, m := range linkRef.FindAllStringSubmatch(list[i].Text, -1) {
				labels[m[1]] = true
			}
		}
		if blankLine(start - 1) {
			gone[start-1] = true
		}
		if blankLine(end + 1) {
			gone[end+1] = true
		}
		for i, c := range list {
			if m := linkDef.FindStringSubmatch(c.Text); m != nil && labels[m[1]] {
				gone[i] = true
			}
		}
	}
	// Drop "//" lines left dangling at the end, and the whole comment if only those are left.
	for i := len(list) - 1; i >= 0 && (gone[i] || blankLine(i)); i-- {
		gone[i] = true
	}
	return deleteDocLines(f, decl, gone)
}

// directiveChange adds a directive to fn's doc comment; its check wants it read back.
func (f *file) directiveChange(fn *function, directive string) change {
	return change{[]Edit{addDirective(f, fn.decl, directive)}, []*function{fn}, func(g *file, fns []*function) error {
		if fns[0].info.Directive == nil {
			return fmt.Errorf("the directive of %s is not read back", fn.info.QualifiedName())
		}
		return nil
	}}
}

// generatedDocLine matches the lines of the generator's documentation block other than its
// fences and "//" separators: headings, the list of links and the link definitions.
var generatedDocLine = regexp.MustCompile(`^//\s*(# Autometrics|# Prometheus|View the live metrics for the ` + "`[^`]*`" + ` function:|Or, dig into the metrics of \*functions called by\* ` + "`[^`]*`" +
	`|- \[` + generatedLinks + `\]|\[` + generatedLinks + `\]:\s.*)\s*$`)

// generatedLinks are the labels of the links the generator writes.
const generatedLinks = `(?:Request Rate|Error Ratio|Latency \(95th and 99th percentiles\)|Concurrent Calls|Request Rate Callee|Error Ratio Callee)`

// docMarkersDiagnostic reports autometrics:doc-start / autometrics:doc-end markers in fn's doc
// comment that make the generator fail on the whole file, as it checks them on every function:
// one without the other, more than one of either, or the end before the start. Its fix removes
// the markers and the lines only the generator writes (see removeDocBlock).
func (f *file) docMarkersDiagnostic(fn *function, fixable bool) *Diagnostic {
	if fn.decl.Doc == nil {
		return nil
	}
	list := fn.decl.Doc.List
	var starts, ends []int
	for i, c := range list {
		if strings.Contains(c.Text, "autometrics:doc-start") {
			starts = append(starts, i)
		}
		if strings.Contains(c.Text, "autometrics:doc-end") {
			ends = append(ends, i)
		}
	}
	var problem string
	var at int
	switch {
	case len(starts) > 0 && len(ends) == 0:
		problem, at = "an autometrics:doc-start marker without its autometrics:doc-end", starts[0]
	case len(starts) == 0 && len(ends) > 0:
		problem, at = "an autometrics:doc-end marker without its autometrics:doc-start", ends[0]
	case len(starts) > 1:
		problem, at = "more than one autometrics:doc-start marker", starts[1]
	case len(ends) > 1:
		problem, at = "more than one autometrics:doc-end marker", ends[1]
	case len(starts) == 1 && len(ends) == 1 && ends[0] < starts[0]:
		problem, at = "its autometrics:doc-end marker before its autometrics:doc-start", ends[0]
	default:
		return nil
	}
	name := fn.info.QualifiedName()
	diag := &Diagnostic{
		Start: f.off(list[at].Pos()), End: f.off(list[at].End()), Severity: Error, Code: CodeDocMarkers,
		Message: fmt.Sprintf("The doc comment of %s has %s: the autometrics generator fails on this file (go generate stops with an error) until the markers pair up", name, problem),
	}
	if fixable {
		c := change{removeDocBlock(f, fn.decl), []*function{fn}, func(g *file, fns []*function) error {
			if g.docMarkersDiagnostic(fns[0], false) != nil {
				return fmt.Errorf("the doc comment of %s still has broken markers", name)
			}
			return nil
		}}
		if edits, err := f.verified(c); err == nil {
			diag.Fix = &Action{Title: "Remove the broken Autometrics documentation block of " + name, Kind: KindQuickFix, Edits: edits, IsPreferred: true}
		}
	}
	return diag
}

// removeDocBlock returns the deletions that take out of decl's doc comment every
// autometrics:doc-start and autometrics:doc-end marker line and every line only the generator
// writes in its documentation block (generatedDocLine), with the "//" separator lines around
// them: one separator stays where text remains on both sides. Other lines are kept byte for byte;
// a comment left empty is deleted whole.
func removeDocBlock(f *file, decl *ast.FuncDecl) []Edit {
	list := decl.Doc.List
	gone := make([]bool, len(list))
	separator := func(i int) bool { return strings.TrimSpace(list[i].Text) == "//" }
	for i, c := range list {
		gone[i] = strings.Contains(c.Text, "autometrics:doc-start") || strings.Contains(c.Text, "autometrics:doc-end") ||
			generatedDocLine.MatchString(c.Text)
	}
	for i := 0; i < len(list); i++ {
		if !gone[i] {
			continue
		}
		// The run of removed and separator lines around i.
		a, b := i, i
		for a > 0 && (gone[a-1] || separator(a-1)) {
			a--
		}
		for b+1 < len(list) && (gone[b+1] || separator(b+1)) {
			b++
		}
		lastSeparator := -1
		for j := a; j <= b; j++ {
			if separator(j) {
				lastSeparator = j
			}
			gone[j] = true
		}
		if a > 0 && b+1 < len(list) && lastSeparator >= 0 {
			gone[lastSeparator] = false
		}
		i = b
	}
	return deleteDocLines(f, decl, gone)
}

// deleteDocLines returns the deletions of the lines of decl's doc comment marked gone, as whole
// lines; when all are, of the comment.
func deleteDocLines(f *file, decl *ast.FuncDecl, gone []bool) []Edit {
	list := decl.Doc.List
	allGone := true
	for _, g := range gone {
		allGone = allGone && g
	}
	if allGone {
		s, e := f.wholeLines(f.off(decl.Doc.Pos()), f.off(decl.Doc.End()))
		return []Edit{{Start: s, End: e}}
	}
	var edits []Edit
	for i := 0; i < len(list); i++ {
		if !gone[i] {
			continue
		}
		j := i
		for j+1 < len(list) && gone[j+1] {
			j++
		}
		s, e := f.wholeLines(f.off(list[i].Pos()), f.off(list[j].End()))
		edits = append(edits, Edit{Start: s, End: e})
		i = j
	}
	return edits
}
