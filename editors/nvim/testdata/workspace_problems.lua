-- Test driver for workspace_problems_test.go, run after a user-style init.lua. It opens one file
-- (AM_FILE) and watches Neovim's diagnostics of the whole workspace, as :lua vim.diagnostic.get()
-- or the quickfix list shows them:
--   1. waits until am-lsp diagnostics with code "slo" exist for every file of AM_EXPECT (a
--      comma-separated list of paths never opened), writes them to AM_OUT .. ".1" and whether
--      their buffers are loaded;
--   2. waits for the file AM_GO (the test has stopped Prometheus, seen the server's sweep fail,
--      and restarted Prometheus with healthy data), failing if the diagnostics of any AM_EXPECT
--      file go away before it appears; then waits until no "slo" diagnostic is left, and writes
--      the final state to AM_OUT.
local out = assert(os.getenv("AM_OUT"))
local file = assert(os.getenv("AM_FILE"))
local go = assert(os.getenv("AM_GO"))
local expect = vim.split(assert(os.getenv("AM_EXPECT")), ",", { plain = true })
local result = {}

local function write(path, value)
  local f = assert(io.open(path, "w"))
  f:write(vim.fn.json_encode(value))
  f:close()
end

local slo = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":h") .. "/slo_diagnostics.lua")

local ok, err = pcall(function()
  vim.cmd("edit " .. vim.fn.fnameescape(file))
  local found
  if not vim.wait(90000, function()
    found = slo.get()
    return slo.covers(found, expect)
  end, 100) then
    error("no SLO diagnostics for every unopened file within 90 s; got " .. vim.inspect(slo.get()), 0)
  end
  result.burning = found
  write(out .. ".1", result)
  -- While Prometheus is down (stopped, then restarting), the problems stay: an outage is no
  -- recovery.
  local cleared
  if not vim.wait(120000, function()
    if not slo.covers(slo.get(), expect) then
      cleared = slo.get()
      return true
    end
    return vim.loop.fs_stat(go) ~= nil
  end, 100) then
    error("the test did not restart Prometheus", 0)
  end
  if cleared then
    error("SLO diagnostics cleared while Prometheus was down: " .. vim.inspect(cleared), 0)
  end
  if not vim.wait(60000, function()
    return #slo.get() == 0
  end, 100) then
    error("SLO diagnostics not cleared after recovery: " .. vim.inspect(slo.get()), 0)
  end
  result.after = slo.get()
end)
if not ok then
  result.error = tostring(err)
end
write(out, result)
vim.cmd("qall!")
