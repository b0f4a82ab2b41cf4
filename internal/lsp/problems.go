package lsp

import (
	"context"
	"encoding/json"
	"os"

	"go.lsp.dev/protocol"

	"github.com/am-lsp/am-lsp/internal/insight"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

// Workspace-wide SLO problems: the sweep (insight.Sweep) finds the breached and burning SLOs of
// every instrumented function of the workspace folders; files that are not open get them as
// diagnostics here (open files get theirs from publishDiagnostics, which reads the open text).

// rootsOf returns the workspace directories of initialize: its folders, else rootUri, else
// rootPath.
func rootsOf(p *protocol.InitializeParams) []string {
	var roots []string
	folders, _ := p.WorkspaceFolders.Get()
	for _, f := range folders {
		if path := pathOf(f.URI); path != "" {
			roots = append(roots, path)
		}
	}
	//lint:ignore SA1019 clients without workspace folders send only rootUri (or rootPath)
	if len(roots) == 0 && p.RootURI != nil {
		//lint:ignore SA1019 see above
		if path := pathOf(*p.RootURI); path != "" {
			roots = append(roots, path)
		}
	}
	//lint:ignore SA1019 see above
	if rp, ok := p.RootPath.Get(); len(roots) == 0 && ok && rp != "" {
		roots = append(roots, rp)
	}
	return roots
}

// didChangeWorkspaceFolders applies a workspace folder change (a folder added to or removed
// from a VS Code multi-root workspace, vim.lsp.buf.add_workspace_folder) to the roots the
// sweep covers; the sweep runs at once, publishing the problems of added folders and clearing
// those of removed folders' files that are not open (open files keep the diagnostics of their
// text).
func didChangeWorkspaceFolders(ctx context.Context, s *Server, p *folderChangeParams) (any, error) {
	s.sweep.ChangeRoots(folderPaths(p.Event.Added), folderPaths(p.Event.Removed))
	return nil, nil
}

// folderChangeParams are the params of workspace/didChangeWorkspaceFolders, read one folder at
// a time: Neovim 0.7 sends the side it leaves unchanged as [[]] (a list holding an empty
// list), which would fail the whole notification as protocol.DidChangeWorkspaceFoldersParams.
type folderChangeParams struct {
	Event struct {
		Added   []json.RawMessage `json:"added"`
		Removed []json.RawMessage `json:"removed"`
	} `json:"event"`
}

// folderPaths returns the directories of the file:// workspace folders among raw; entries that
// are not folders are skipped.
func folderPaths(raw []json.RawMessage) []string {
	var out []string
	for _, r := range raw {
		var f protocol.WorkspaceFolder
		if err := protocol.Unmarshal(r, &f); err != nil || f.URI == "" {
			continue
		}
		if path := pathOf(f.URI); path != "" {
			out = append(out, path)
		}
	}
	return out
}

// sloProblemsChanged publishes the changed problems of files that are not open.
func (s *Server) sloProblemsChanged(changed map[string][]insight.SLOProblem) {
	for path := range changed {
		s.publishSweepProblems(path)
	}
}

// publishSweepProblems publishes the sweep's current problems of path as its diagnostics,
// unless it is open (its diagnostics come from its text then). It reads the problems and sends
// under s.sends, so the publishes of a file land in the order of the states they show: a
// publish started earlier (didClose's, say) never lands after a newer one with older problems.
func (s *Server) publishSweepProblems(path string) {
	s.sends.Lock()
	defer s.sends.Unlock()
	if _, open := s.docs.Get(path); open {
		return
	}
	s.publishSaved(path, s.sweep.Problems(path))
}

// publishSaved publishes problems as the diagnostics of the file path as saved on disk (not
// open in the editor); an empty list clears them.
func (s *Server) publishSaved(path string, problems []insight.SLOProblem) {
	diags := []diagnosticResult{}
	if len(problems) > 0 {
		text, err := os.ReadFile(path)
		if err != nil {
			s.log.Debug("workspace SLO problems: file unreadable", "file", path, "err", err)
			return
		}
		doc := &textdoc.Snapshot{Path: path, Text: text}
		href := s.workspace.ObjectivesURL()
		for _, p := range problems {
			diags = append(diags, sloDiagnostic(doc, p.View.Function.NameSpan.Start, p.View.Function.NameSpan.End, p.Breached, p.Message, href))
		}
	}
	_ = s.client.notify(context.Background(), "textDocument/publishDiagnostics", map[string]any{
		"uri": fileURI(path), "diagnostics": diags,
	})
}

// sloDiagnostic is the diagnostic of one SLO problem on a function's name: an error when the
// objective is breached, a warning when its budget only burns too fast.
func sloDiagnostic(doc *textdoc.Snapshot, start, end int, breached bool, message, href string) diagnosticResult {
	d := diagnosticResult{
		Range:    rangeOf(doc, start, end),
		Severity: severityWarning,
		Code:     "slo",
		Source:   "am-lsp",
		Message:  message,
	}
	if breached {
		d.Severity = severityError
	}
	if href != "" {
		d.CodeDescription = &codeDescription{Href: href}
	}
	return d
}
