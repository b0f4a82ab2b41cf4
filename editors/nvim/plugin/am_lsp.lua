-- Defines the :Am* commands at startup, so they also work for an am-lsp started through
-- nvim-lspconfig. Starting the server is require("am_lsp").setup()'s job.
if vim.g.loaded_am_lsp then
  return
end
vim.g.loaded_am_lsp = true
require("am_lsp").create_commands()
require("am_lsp.snapshot").create_command()
