-- Test driver for snapshot_test.go, run after a user-style init.lua: opens AM_FILE, puts the
-- cursor at AM_LINE/AM_COL (0-based), runs :AmSnapshot as a user does, waits for the snapshot in
-- the unnamed register and writes it, with the scratch buffer's text, to AM_OUT as JSON.
local out = assert(os.getenv("AM_OUT"))
local file = assert(os.getenv("AM_FILE"))
local line, col = tonumber(os.getenv("AM_LINE")), tonumber(os.getenv("AM_COL"))
local result = { messages = {} }

vim.notify = function(msg, level)
  table.insert(result.messages, { msg = msg, level = level })
end

local ok, err = pcall(function()
  vim.cmd("edit " .. vim.fn.fnameescape(file))
  local bufnr = vim.api.nvim_get_current_buf()
  if not vim.wait(30000, function()
    local c = require("am_lsp").clients(bufnr)[1]
    return c ~= nil and c.initialized == true
  end, 50) then
    error("am-lsp did not attach", 0)
  end
  vim.api.nvim_win_set_cursor(0, { line + 1, col })
  -- The numbers load in the background: retry until the snapshot has them.
  local deadline = vim.loop.now() + 30000
  repeat
    vim.fn.setreg('"', "")
    vim.api.nvim_win_set_cursor(0, { line + 1, col })
    vim.cmd("AmSnapshot")
    vim.wait(5000, function()
      return vim.fn.getreg('"'):find("am%-lsp snapshot") ~= nil
    end, 50)
    result.register = vim.fn.getreg('"')
    if result.register:find("req/s", 1, true) then
      break
    end
    if vim.bo.buftype == "nofile" then
      vim.cmd("close")
    end
    vim.wait(300)
  until vim.loop.now() > deadline
  result.scratch = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
  result.filetype = vim.bo.filetype
end)
if not ok then
  result.error = tostring(err)
end
local f = assert(io.open(out, "w"))
f:write(vim.fn.json_encode(result))
f:close()
vim.cmd("qall!")
