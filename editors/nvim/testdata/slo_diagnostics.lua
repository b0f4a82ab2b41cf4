-- Shared by the workspace test drivers (workspace_problems.lua, workspace_folders.lua), loaded
-- with dofile from the driver's own folder: am-lsp's "slo" diagnostics as Neovim holds them.
local M = {}

-- The am-lsp "slo" diagnostics of every buffer, loaded or not.
function M.get()
  local found = {}
  for _, d in ipairs(vim.diagnostic.get()) do
    local lsp_code = d.user_data and d.user_data.lsp and d.user_data.lsp.code
    if d.source == "am-lsp" and (d.code == "slo" or lsp_code == "slo") then
      table.insert(found, {
        file = vim.api.nvim_buf_get_name(d.bufnr),
        loaded = vim.api.nvim_buf_is_loaded(d.bufnr),
        lnum = d.lnum,
        severity = d.severity,
        message = d.message,
      })
    end
  end
  return found
end

-- Whether found (from get) has a diagnostic for every path of expect.
function M.covers(found, expect)
  for _, want in ipairs(expect) do
    local seen = false
    for _, d in ipairs(found) do
      seen = seen or d.file == want
    end
    if not seen then
      return false
    end
  end
  return true
end

return M
