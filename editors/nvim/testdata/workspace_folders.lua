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

local slo = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":h") .. "/slo_diagnostics.lua")

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
    return slo.covers(slo.get(), expect)
  end, 100) then
    error("no SLO diagnostics for the added folder within 90 s; got " .. vim.inspect(slo.get()), 0)
  end
  result.added = slo.get()
  vim.lsp.buf.remove_workspace_folder(add)
  if not vim.wait(60000, function()
    return #slo.get() == 0
  end, 100) then
    error("SLO diagnostics not cleared after the folder was removed: " .. vim.inspect(slo.get()), 0)
  end
  result.after = slo.get()
end)
if not ok then
  result.error = tostring(err)
end
local f = assert(io.open(out, "w"))
f:write(vim.fn.json_encode(result))
f:close()
vim.cmd("qall!")
