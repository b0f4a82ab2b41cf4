-- Drives am-lsp from headless Neovim (0.7.2 and later) as a user's config would: starts the
-- client for a Go buffer, waits for it to initialise, hovers a position until the card carries
-- numbers, writes the card to OUT and quits. Parameters come from the environment.
local bin, root, file = os.getenv("AM_BIN"), os.getenv("AM_ROOT"), os.getenv("AM_FILE")
local line, col = tonumber(os.getenv("AM_LINE")), tonumber(os.getenv("AM_COL"))
local out, prom = os.getenv("AM_OUT"), os.getenv("AM_PROM")

local function finish(text)
  local f = assert(io.open(out, "w"))
  f:write(text)
  f:close()
  vim.cmd("qall!")
end

vim.cmd("edit " .. vim.fn.fnameescape(file))
local client_id = vim.lsp.start_client({
  name = "am-lsp",
  cmd = { bin, "serve", "--log-level", "debug", "--log-file", out .. ".log" },
  root_dir = root,
  init_options = { prometheusUrl = prom },
})
if not client_id then
  finish("ERROR: start_client failed")
end
vim.lsp.buf_attach_client(0, client_id)
local ok = vim.wait(15000, function()
  local c = vim.lsp.get_client_by_id(client_id)
  return c ~= nil and c.initialized == true
end, 50)
if not ok then
  finish("ERROR: client did not initialise")
end

local params = {
  textDocument = { uri = vim.uri_from_fname(file) },
  position = { line = line, character = col },
}
local last = "ERROR: no hover answer"
for _ = 1, 60 do
  local results = vim.lsp.buf_request_sync(0, "textDocument/hover", params, 5000)
  for _, res in pairs(results or {}) do
    if res.error then
      last = "ERROR: " .. vim.inspect(res.error)
    elseif res.result and res.result.contents then
      last = res.result.contents.value or vim.inspect(res.result.contents)
    end
  end
  if last:find("req/s", 1, true) then
    break
  end
  vim.wait(200)
end
vim.lsp.stop_client(client_id)
finish(last)
