-- :AmSnapshot: asks am-lsp for the snapshot of the function at the cursor (command
-- am-lsp.snapshot: Markdown with its numbers, SLOs, alerts, deploy and traces over an absolute
-- UTC range, links pinned to it), puts it in the unnamed register (and the clipboard when one is
-- available) and shows it in a scratch buffer, ready to paste into the incident channel.
local M = {}

local api = vim.api

local function notify(msg, level)
  vim.notify("am-lsp: " .. msg, level or vim.log.levels.INFO)
end

-- Shows text in a new scratch buffer (markdown) in a split.
local function show(text)
  vim.cmd("new")
  local buf = api.nvim_get_current_buf()
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].swapfile = false
  vim.bo[buf].filetype = "markdown"
  api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(text, "\n", { plain = true }))
  pcall(api.nvim_buf_set_name, buf, "am-lsp snapshot")
  return buf
end

--- Requests the snapshot of the function at the cursor; on_done(markdown) runs after the
--- register and the scratch buffer are filled (tests use it).
function M.snapshot(on_done)
  local am = require("am_lsp")
  local bufnr = api.nvim_get_current_buf()
  local client = am.clients(bufnr)[1]
  if not client then
    notify("not attached to this buffer", vim.log.levels.WARN)
    return
  end
  local pos = vim.lsp.util.make_position_params(0, client.offset_encoding)
  local params = {
    command = "am-lsp.snapshot",
    arguments = { { uri = pos.textDocument.uri, position = pos.position } },
  }
  local function handler(err, md)
    if err then
      notify("snapshot: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    if type(md) ~= "string" then
      notify("snapshot: the server answered no Markdown", vim.log.levels.ERROR)
      return
    end
    vim.fn.setreg('"', md)
    local copied = pcall(vim.fn.setreg, "+", md) and vim.fn.has("clipboard") == 1
    show(md)
    notify(copied and "snapshot copied to the clipboard and the unnamed register"
      or "snapshot in the unnamed register (no clipboard provider)")
    if on_done then
      on_done(md)
    end
  end
  if vim.fn.has("nvim-0.11") == 1 then
    client:request("workspace/executeCommand", params, handler, bufnr)
  else
    client.request("workspace/executeCommand", params, handler, bufnr)
  end
end

--- Defines :AmSnapshot.
function M.create_command()
  api.nvim_create_user_command("AmSnapshot", function()
    M.snapshot()
  end, { desc = "am-lsp: snapshot of the function at the cursor (Markdown, copied)" })
end

return M
