package instrument

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/token"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Import paths the actions know.
const (
	promPath    = "github.com/autometrics-dev/autometrics-go/prometheus/autometrics"
	otelPath    = "github.com/autometrics-dev/autometrics-go/otel/autometrics"
	timePath    = "time"
	contextPath = "context"
	httpPath    = "net/http"
	ginPath     = "github.com/gin-gonic/gin"
	echoPath    = "github.com/labstack/echo/v4"
	buffaloPath = "github.com/gobuffalo/buffalo"
)

// defaultAMName is the name of the autometrics package, and of its import when the actions add it.
const defaultAMName = "autometrics"

// fileImports is what the actions need to know about a file's imports, from the import specs.
type fileImports struct {
	// amSpec is the import of the autometrics backend the statements use, if imported: the one
	// the file's generator runs with (OpenTelemetry with --otel, else Prometheus), or without a
	// //go:generate line the Prometheus (preferred) or OpenTelemetry one.
	amSpec *ast.ImportSpec
	amName string // its local name: the alias, "autometrics", "." or "_"
	// amPath is the backend to import when amSpec is nil.
	amPath   string
	timeSpec *ast.ImportSpec
	// timeName is the local name of "time" when imported ("." for a dot import).
	timeName string
	// byName maps every local name (alias, or the package name guessed from the path) to the
	// import path; dot and blank imports are under "." and "_" (last one wins).
	byName map[string]string
}

func importPath(spec *ast.ImportSpec) string {
	p, err := strconv.Unquote(spec.Path.Value)
	if err != nil {
		return ""
	}
	return p
}

// localName is the name a file refers to an imported package by: the alias, else the package
// name guessed from the path ("autometrics" for the autometrics backends, "echo" for
// github.com/labstack/echo/v4).
func localName(spec *ast.ImportSpec) string {
	if spec.Name != nil {
		return spec.Name.Name
	}
	p := importPath(spec)
	base := path.Base(p)
	if len(base) >= 2 && base[0] == 'v' && strings.Trim(base[1:], "0123456789") == "" && path.Dir(p) != "." {
		base = path.Base(path.Dir(p))
	}
	if i := strings.IndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	return strings.TrimPrefix(base, "go-")
}

// readImports reads the import specs; gen is the file's generator invocation (nil without one).
func readImports(f *ast.File, gen *generatorFlags) fileImports {
	imp := fileImports{byName: map[string]string{}, amPath: promPath}
	if gen != nil && gen.otel {
		imp.amPath = otelPath
	}
	for _, spec := range f.Imports {
		p, name := importPath(spec), localName(spec)
		imp.byName[name] = p
		switch {
		case p == imp.amPath && (imp.amSpec == nil || importPath(imp.amSpec) != imp.amPath || imp.amName == "_"),
			gen == nil && p == otelPath && (imp.amSpec == nil || imp.amName == "_"):
			imp.amSpec, imp.amName = spec, name
		case p == timePath && (imp.timeSpec == nil || imp.timeName == "_"):
			imp.timeSpec, imp.timeName = spec, name
		}
	}
	return imp
}

// names returns the local names under which path is imported.
func (imp fileImports) names(p string) map[string]bool {
	out := map[string]bool{}
	for name, q := range imp.byName {
		if q == p {
			out[name] = true
		}
	}
	return out
}

// qualifier turns a local import name into the prefix of qualified identifiers: "prom." for
// "prom", "" for a dot import.
func qualifier(name string) string {
	if name == "." {
		return ""
	}
	return name + "."
}

// importPlan is how the code written by an action refers to the packages it needs, and the
// import edits that make those names valid.
type importPlan struct {
	amQual   string // qualifier of the autometrics package: "autometrics.", "prom.", or "" (dot import)
	timeQual string // qualifier of package time, when needTime
	edits    []Edit
}

// planImports reuses the file's autometrics import (fileImports.amSpec, with its alias) or adds
// the backend the generator runs with (fileImports.amPath), and when needTime also reuses or adds "time". New imports get their default
// name unless it is taken (inUse), then an alias. It never adds an import twice; a blank
// autometrics import is given a name instead.
func planImports(f *file, needTime bool, inUse func(string) bool) (importPlan, error) {
	var plan importPlan
	var added []newSpec
	taken := func(name string) bool {
		_, imported := f.imports.byName[name]
		return imported || inUse(name)
	}
	switch {
	case f.imports.amSpec != nil && f.imports.amName != "_":
		plan.amQual = qualifier(f.imports.amName)
	case f.imports.amSpec != nil: // a blank import: name it
		name := freeName(defaultAMName, []string{"am", "amprom"}, taken)
		plan.amQual = name + "."
		spec := f.imports.amSpec
		if name == defaultAMName { // drop the "_ "
			plan.edits = append(plan.edits, Edit{Start: f.off(spec.Name.Pos()), End: f.off(spec.Path.Pos())})
		} else {
			plan.edits = append(plan.edits, Edit{Start: f.off(spec.Name.Pos()), End: f.off(spec.Name.End()), NewText: name})
		}
	default:
		name := freeName(defaultAMName, []string{"am", "amprom"}, taken)
		plan.amQual = name + "."
		alias := ""
		if name != defaultAMName {
			alias = name
		}
		added = append(added, newSpec{path: f.imports.amPath, name: alias})
	}
	if needTime {
		switch {
		case f.imports.timeSpec != nil && f.imports.timeName != "_":
			plan.timeQual = qualifier(f.imports.timeName)
		case f.imports.timeSpec != nil:
			plan.timeQual = "time."
			spec := f.imports.timeSpec
			if taken("time") {
				return plan, fmt.Errorf("%w: the name time is taken and \"time\" is imported as _", ErrUnsafe)
			}
			plan.edits = append(plan.edits, Edit{Start: f.off(spec.Name.Pos()), End: f.off(spec.Path.Pos())})
		default:
			name := freeName("time", []string{"stdtime"}, taken)
			plan.timeQual = name + "."
			alias := ""
			if name != "time" {
				alias = name
			}
			added = append(added, newSpec{path: timePath, name: alias})
		}
	}
	if len(added) > 0 {
		edits, err := addImports(f, added)
		if err != nil {
			return plan, err
		}
		for _, e := range edits {
			if f.inComment(e.Start) {
				return plan, fmt.Errorf("%w: a comment spans the place of the new import", ErrUnsafe)
			}
		}
		plan.edits = append(plan.edits, edits...)
	}
	return plan, nil
}

// freeName returns the first of want and alternatives that is not taken.
func freeName(want string, alternatives []string, taken func(string) bool) string {
	if !taken(want) {
		return want
	}
	for _, alt := range alternatives {
		if !taken(alt) {
			return alt
		}
	}
	for i := 2; ; i++ {
		if name := fmt.Sprintf("%s%d", want, i); !taken(name) {
			return name
		}
	}
}

// newSpec is an import to add.
type newSpec struct {
	path string
	name string // alias, or ""
}

func (s newSpec) String() string {
	if s.name != "" {
		return s.name + " " + strconv.Quote(s.path)
	}
	return strconv.Quote(s.path)
}

// std reports a standard-library path: no dot in its first element.
func std(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return !strings.Contains(first, ".")
}

// addImports returns the insertions that import specs, in goimports' layout: into the first
// parenthesised import declaration (the standard library into the first group holding standard
// packages, others into the last group holding non-standard ones, each at its sorted place; a
// new group when there is none), else as a new declaration after the first one-line import, else
// after the package clause.
func addImports(f *file, specs []newSpec) ([]Edit, error) {
	// Standard packages first, then by path: the order of new groups, and at an offset where
	// two insertions meet, the standard group comes first.
	sort.Slice(specs, func(i, j int) bool {
		if std(specs[i].path) != std(specs[j].path) {
			return std(specs[i].path)
		}
		return specs[i].path < specs[j].path
	})
	var target *ast.GenDecl
	for _, decl := range f.ast.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT || len(gd.Specs) == 1 && importPath(gd.Specs[0].(*ast.ImportSpec)) == "C" {
			continue
		}
		if gd.Lparen.IsValid() {
			target = gd
			break
		}
		if target == nil {
			target = gd
		}
	}
	switch {
	case target == nil:
		return []Edit{newImportDecl(f, specs)}, nil
	case !target.Lparen.IsValid():
		return []Edit{importAfter(f, target, specs)}, nil
	}
	return insertIntoBlock(f, target, specs)
}

// newImportDecl writes an import declaration after the package clause.
func newImportDecl(f *file, specs []newSpec) Edit {
	at := f.lineEnd(f.off(f.ast.Name.End()))
	var b strings.Builder
	b.WriteString("\n\nimport ")
	if len(specs) == 1 {
		b.WriteString(specs[0].String())
	} else {
		b.WriteString("(\n" + groupLines(specs) + ")")
	}
	b.WriteString(f.blankAfter(at))
	return Edit{Start: at, End: at, NewText: b.String()}
}

// groupLines writes specs (standard packages first) as the lines of an import block: the
// standard group, a blank line, the others.
func groupLines(specs []newSpec) string {
	var b strings.Builder
	for i, s := range specs {
		if i > 0 && std(specs[i-1].path) && !std(s.path) {
			b.WriteString("\n")
		}
		b.WriteString("\t" + s.String() + "\n")
	}
	return b.String()
}

// importAfter writes the specs as a new import declaration on the line after gd, a one-line
// import: a pure insertion that leaves the existing line alone, and that Remove takes back whole.
func importAfter(f *file, gd *ast.GenDecl, specs []newSpec) Edit {
	at := f.lineEnd(f.off(gd.End()))
	text := "\nimport " + specs[0].String()
	if len(specs) > 1 {
		text = "\nimport (\n" + groupLines(specs) + ")"
	}
	return Edit{Start: at, End: at, NewText: text + f.blankAfter(at)}
}

// blankAfter returns "\n" when the line after the one ending at at (a newline or the end of the
// content) is not blank: gofmt wants a blank line between the imports and what follows.
func (f *file) blankAfter(at int) string {
	if at >= len(f.src) {
		return ""
	}
	if blank, _ := f.blankLineAt(at + 1); blank {
		return ""
	}
	if next := f.lineEnd(at + 1); bytes.HasPrefix(bytes.TrimSpace(f.src[at+1:next]), []byte("import")) {
		return "" // another import declaration
	}
	return "\n"
}

// importGroups splits the specs of a block into runs on successive lines, as gofmt does when it
// sorts imports.
func importGroups(f *file, gd *ast.GenDecl) [][]*ast.ImportSpec {
	var groups [][]*ast.ImportSpec
	prevEnd := -1
	for _, s := range gd.Specs {
		spec := s.(*ast.ImportSpec)
		line := f.tf.Line(spec.Pos())
		if len(groups) == 0 || line > prevEnd+1 {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], spec)
		prevEnd = f.tf.Line(spec.End())
	}
	return groups
}

// insertIntoBlock adds specs to a parenthesised import declaration.
func insertIntoBlock(f *file, gd *ast.GenDecl, specs []newSpec) ([]Edit, error) {
	groups := importGroups(f, gd)
	if len(groups) == 0 {
		return []Edit{minimalEdit(f.src, f.off(gd.Lparen)+1, f.off(gd.Rparen), "\n"+groupLines(specs))}, nil
	}
	// Where each spec goes; insertions at one offset are ordered: a new first group, then the
	// specs joining a group (by path, so the group stays sorted), then a new last group.
	type insertion struct {
		at    int
		order int // 0 new first group, 1 within a group, 2 new last group
		path  string
		text  string
	}
	var ins []insertion
	for _, s := range specs {
		isStd := std(s.path)
		var group []*ast.ImportSpec
		for _, g := range groups {
			for _, spec := range g {
				if std(importPath(spec)) == isStd {
					group = g
					break
				}
			}
			if group != nil && isStd {
				break // the first standard group
			}
		}
		line := "\t" + s.String()
		switch {
		case group == nil && isStd:
			ins = append(ins, insertion{specLineStart(f, groups[0][0]), 0, s.path, line + "\n\n"})
		case group == nil:
			last := groups[len(groups)-1]
			ins = append(ins, insertion{f.lineEnd(f.off(last[len(last)-1].End())), 2, s.path, "\n\n" + line})
		default:
			placed := false
			for _, spec := range group {
				if importPath(spec) > s.path {
					ins = append(ins, insertion{specLineStart(f, spec), 1, s.path, line + "\n"})
					placed = true
					break
				}
			}
			if !placed {
				ins = append(ins, insertion{f.lineEnd(f.off(group[len(group)-1].End())), 1, s.path, "\n" + line})
			}
		}
	}
	sort.SliceStable(ins, func(i, j int) bool {
		a, b := ins[i], ins[j]
		if a.at != b.at {
			return a.at < b.at
		}
		if a.order != b.order {
			return a.order < b.order
		}
		return a.path < b.path
	})
	// Several specs opening one new group share its blank line: a new first group ends with one
	// blank line after its last spec, a new last group starts with one before its first.
	for i := range ins {
		if ins[i].order == 0 && i+1 < len(ins) && ins[i+1].order == 0 && ins[i+1].at == ins[i].at {
			ins[i].text = strings.TrimSuffix(ins[i].text, "\n")
		}
		if ins[i].order == 2 && i > 0 && ins[i-1].order == 2 && ins[i-1].at == ins[i].at {
			ins[i].text = strings.TrimPrefix(ins[i].text, "\n")
		}
	}
	var edits editSet
	for _, in := range ins {
		edits.insert(in.at, in.text)
	}
	return edits.result()
}

// specLineStart is where a line inserted before spec goes: the start of its line, or of its
// doc comment's.
func specLineStart(f *file, spec *ast.ImportSpec) int {
	if spec.Doc != nil {
		return f.lineStart(f.off(spec.Doc.Pos()))
	}
	return f.lineStart(f.off(spec.Pos()))
}

// usesOf counts the qualified identifiers name.X in the file that refer to an import (not to a
// local variable), outside the ranges skip.
func usesOf(f *file, name string, skip [][2]int) int {
	n := 0
	ast.Inspect(f.ast, func(node ast.Node) bool {
		sel, ok := node.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		id, ok := sel.X.(*ast.Ident)
		if !ok || id.Name != name || !f.outside(id) {
			return true
		}
		at := f.off(id.Pos())
		for _, r := range skip {
			if at >= r[0] && at < r[1] {
				return true
			}
		}
		n++
		return true
	})
	return n
}

// removeImports deletes the import specs, and their declaration when nothing is left of it. A
// spec alone in its group takes an adjacent blank line with it.
func removeImports(f *file, specs []*ast.ImportSpec) ([]Edit, error) {
	remove := map[*ast.ImportSpec]bool{}
	for _, s := range specs {
		remove[s] = true
	}
	var edits editSet
	claimed := map[int]bool{} // blank lines already deleted
	for _, decl := range f.ast.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			continue
		}
		var kept []*ast.ImportSpec
		removing := false
		for _, s := range gd.Specs {
			if remove[s.(*ast.ImportSpec)] {
				removing = true
			} else {
				kept = append(kept, s.(*ast.ImportSpec))
			}
		}
		if !removing {
			continue
		}
		if len(kept) == 0 {
			edits.add(removeDecl(f, gd))
			continue
		}
		for _, g := range importGroups(f, gd) {
			for _, spec := range g {
				if !remove[spec] {
					continue
				}
				start := f.off(spec.Pos())
				if spec.Doc != nil {
					start = f.off(spec.Doc.Pos())
				}
				start, end := f.wholeLines(start, f.off(spec.End()))
				if len(g) == 1 && start == f.lineStart(start) {
					if start > 0 {
						prev := f.lineStart(start - 1)
						if blank, _ := f.blankLineAt(prev); blank && !claimed[prev] && prev > f.off(gd.Lparen) {
							claimed[prev] = true
							start = prev
						} else if blank, after := f.blankLineAt(end); blank && !claimed[end] {
							claimed[end] = true
							end = after
						}
					}
				}
				edits.replace(start, end, "")
			}
		}
	}
	return edits.result()
}

// removeDecl deletes a whole import declaration with the white space before it, keeping its
// doc comment if it has one.
func removeDecl(f *file, gd *ast.GenDecl) Edit {
	start, end := f.off(gd.Pos()), f.off(gd.End())
	if gd.Doc != nil {
		s, e := f.wholeLines(start, end)
		return Edit{Start: s, End: e}
	}
	for start > 0 && strings.ContainsRune(" \t\r\n", rune(f.src[start-1])) {
		start--
	}
	return Edit{Start: start, End: end}
}
