-- Test driver for workspace_folders_test.go, run after a user-style init.lua. It opens AM_FILE
-- (a module without instrumented code: the workspace has no SLO problems), adds the folder
-- AM_ADD with :lua vim.lsp.buf.add_workspace_folder(), waits until am-lsp diagnostics with code
-- "slo" exist for every file of AM_EXPECT (comma-separated, never opened), removes the folder
-- with vim.lsp.buf.remove_workspace_folder() and waits until none is left. It writes what it saw
-- to AM_OUT: {added = diagnostics after the addition, after = after the removal, error = ...}.
local out = assert(os.getenv("AM_OUT"))
local file = assert(os.getenv("AM_FILE"))
local add = assert(os.getenv("AM_ADD"))
local expect = vim.split(assert(os.getenv("AM_EXPECT")), ",", { plain = true })
local result = {}

local function slo_diagnostics()
  local found = {}
  for _, d in ipairs(vim.diagnostic.get()) do
    local lsp_code = d.user_data and d.user_data.lsp and d.user_data.lsp.code
    if d.source == "am-lsp" and (d.code == "slo" or lsp_code == "slo") then
      table.insert(found, { file = vim.api.nvim_buf_get_name(d.bufnr), message = d.message })
    end
  end
  return found
end

local function covers(found)
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

local ok, err = pcall(function()
  vim.cmd("edit " .. vim.fn.fnameescape(file))
  if not vim.wait(30000, function()
    if vim.lsp.get_clients then -- 0.10+
      return #vim.lsp.get_clients({ bufnr = 0 }) > 0
    end
    return next(vim.lsp.buf_get_clients(0)) ~= nil
  end, 50) then
    error("am-lsp did not attach to " .. file, 0)
  end
  vim.lsp.buf.add_workspace_folder(add)
  if not vim.wait(90000, function()
    return covers(slo_diagnostics())
  end, 100) then
    error("no SLO diagnostics for the added folder within 90 s; got " .. vim.inspect(slo_diagnostics()), 0)
  end
  result.added = slo_diagnostics()
  vim.lsp.buf.remove_workspace_folder(add)
  if not vim.wait(60000, function()
    return #slo_diagnostics() == 0
  end, 100) then
    error("SLO diagnostics not cleared after the folder was removed: " .. vim.inspect(slo_diagnostics()), 0)
  end
  result.after = slo_diagnostics()
end)
if not ok then
  result.error = tostring(err)
end
local f = assert(io.open(out, "w"))
f:write(vim.fn.json_encode(result))
f:close()
vim.cmd("qall!")
