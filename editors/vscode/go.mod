// This go.mod only keeps the Go tool out of the extension (node_modules may hold Go files,
// e.g. flatted/golang): editors/vscode is a Node project, not part of the am-lsp module.
module github.com/am-lsp/am-lsp/editors/vscode

go 1.26
