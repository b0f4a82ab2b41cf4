-- Test driver for nvim_test.go, run after the user-style init.lua (which put editors/nvim on the
-- runtimepath and called require("am_lsp").setup{...}). It only does what a user does (open a
-- file, hover, look at CodeLens, run :AmGrafana/:AmStatus/:checkhealth, apply a code action and
-- :write, press K) and writes what it saw to $AM_OUT as JSON, then quits. Phases: AM_PHASE=telemetry,
-- codeaction or servers (0.10+, gopls attached too). Parameters: AM_FILE, AM_LINE, AM_COL (0-based,
-- LSP), AM_OUT.
local out = assert(os.getenv("AM_OUT"))
local file = assert(os.getenv("AM_FILE"))
local line, col = tonumber(os.getenv("AM_LINE")), tonumber(os.getenv("AM_COL"))
local result = { messages = {} }

local function finish()
  local f = assert(io.open(out, "w"))
  f:write(vim.fn.json_encode(result))
  f:close()
  vim.cmd("qall!")
end

local function fail(msg)
  error(msg, 0) -- caught at the bottom, which records it and quits
end

-- Messages the plugin shows (vim.notify) are recorded rather than printed.
vim.notify = function(msg, level)
  table.insert(result.messages, { msg = msg, level = level })
end

local function request_sync(client, method, params, bufnr)
  if vim.fn.has("nvim-0.11") == 1 then
    return client:request_sync(method, params, 10000, bufnr)
  end
  return client.request_sync(method, params, 10000, bufnr)
end

-- Opens the file (the plugin's FileType autocmd starts am-lsp) and waits for the client.
local function open()
  vim.cmd("edit " .. vim.fn.fnameescape(file))
  local bufnr = vim.api.nvim_get_current_buf()
  local client
  local ok = vim.wait(30000, function()
    client = require("am_lsp").clients(bufnr)[1]
    return client ~= nil and client.initialized == true
  end, 50)
  if not ok then
    fail("am-lsp did not attach to " .. file .. " within 30 s (filetype=" .. vim.bo.filetype .. ")")
  end
  result.root_dir = client.config.root_dir
  result.server_caps = client.server_capabilities or client.resolved_capabilities
  vim.api.nvim_win_set_cursor(0, { line + 1, col })
  return bufnr, client
end

-- Asks client for the hover at the cursor until its text contains want (up to 20 s); returns
-- the last text.
local function hover_until(client, bufnr, want)
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  local text = "no hover answer"
  for _ = 1, 100 do
    local res = request_sync(client, "textDocument/hover", params, bufnr)
    if res and res.err then
      text = "ERROR: " .. vim.inspect(res.err)
    elseif res and res.result and res.result.contents then
      text = res.result.contents.value or vim.inspect(res.result.contents)
    end
    if text:find(want, 1, true) then
      break
    end
    vim.wait(200)
  end
  return text
end

local function telemetry()
  local bufnr, client = open()

  -- Count the server's workspace/codeLens/refresh requests, through the plugin's own handler.
  result.refreshes = 0
  local plugin_refresh = client.handlers["workspace/codeLens/refresh"]
  client.handlers["workspace/codeLens/refresh"] = function(...)
    result.refreshes = result.refreshes + 1
    return plugin_refresh(...)
  end

  result.hover = hover_until(client, bufnr, "req/s")

  -- CodeLens: the driver never refreshes; the plugin must (on attach, and when the server says
  -- new numbers arrived). Wait for the lens on the function's line to carry numbers.
  local function lens_titles()
    local titles, on_line = {}, nil
    for _, lens in ipairs(vim.lsp.codelens.get(bufnr) or {}) do
      lens = lens.lens or lens -- 0.12: { client_id, lens }
      if lens.command then
        table.insert(titles, lens.command.title)
        if lens.range.start.line == line then
          on_line = lens.command.title
        end
      end
    end
    return titles, on_line
  end
  result.first_lenses = lens_titles()
  vim.wait(30000, function()
    local _, title = lens_titles()
    return title ~= nil and title:find("req/s", 1, true) ~= nil
  end, 100)
  result.lenses, result.lens = lens_titles()

  -- :AmGrafana at the cursor: the server answers with window/showDocument, which the plugin
  -- hands to setup's open_url (the test's init.lua records the URLs in _G.am_test_urls).
  vim.cmd("AmGrafana")
  vim.wait(10000, function()
    return #_G.am_test_urls > 0
  end, 50)
  result.urls = _G.am_test_urls

  -- Running the CodeLens at the cursor line opens the same dashboard.
  _G.am_test_urls = {}
  vim.lsp.codelens.run()
  vim.wait(10000, function()
    return #_G.am_test_urls > 0
  end, 50)
  result.lens_urls = _G.am_test_urls

  vim.cmd("AmStatus")
  vim.wait(10000, function()
    for _, m in ipairs(result.messages) do
      if m.msg:find("am-lsp: http", 1, true) then
        return true
      end
    end
    return false
  end, 50)

  vim.cmd("checkhealth am_lsp")
  result.health = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  finish()
end

local function codeaction()
  local bufnr, client = open()
  local pos = { line = line, character = col }
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    range = { start = pos, ["end"] = pos },
    context = { diagnostics = {} },
  }
  local wanted = os.getenv("AM_ACTION")
  local action
  for _ = 1, 50 do
    local res = request_sync(client, "textDocument/codeAction", params, bufnr)
    if res and res.err then
      result.codeaction_error = res.err
    end
    result.titles = {}
    for _, a in ipairs(res and res.result or {}) do
      table.insert(result.titles, a.title)
      if a.title == wanted then
        action = a
      end
    end
    if action or (res and res.err and res.err.code == -32601) then -- found, or MethodNotFound
      break
    end
    vim.wait(200)
  end
  if not action then
    finish()
    return
  end
  -- Apply it the way vim.lsp.buf.code_action does: resolve if the edit is missing, apply the
  -- edit, then run the command if there is one.
  if not action.edit and not action.command and action.data then
    local res = request_sync(client, "codeAction/resolve", action, bufnr)
    action = res and res.result or action
  end
  result.had_edit = action.edit ~= nil
  if action.edit then
    vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
  end
  if type(action.command) == "table" then
    result.command = action.command.command
    local res = request_sync(client, "workspace/executeCommand", action.command, bufnr)
    result.command_error = res and res.err
    vim.wait(2000) -- a workspace/applyEdit from the command arrives meanwhile
  end
  vim.cmd("write")
  vim.wait(500)
  finish()
end

-- 0.10+, with gopls started for Go buffers by the init too: inlay hints, and K with two servers.
local function servers()
  local bufnr, client = open()
  local gopls
  vim.wait(60000, function()
    gopls = vim.lsp.get_clients({ bufnr = bufnr, name = "gopls" })[1]
    return gopls ~= nil and gopls.initialized == true
  end, 100)
  result.clients = {}
  for _, c in ipairs(vim.lsp.get_clients({ bufnr = bufnr })) do
    table.insert(result.clients, c.name)
  end
  if not gopls then
    finish()
    return
  end
  -- Both servers know the function: gopls once it loaded the package, am-lsp once it has numbers.
  result.gopls_hover = hover_until(gopls, bufnr, "Handle")
  hover_until(client, bufnr, "req/s")

  -- Inlay hints: the plugin enabled them (settings.inlayHints); wait for am-lsp's on the line.
  result.inlay_enabled = vim.lsp.inlay_hint.is_enabled({ bufnr = bufnr })
  local function hints()
    local labels, on_line = {}, nil
    for _, h in ipairs(vim.lsp.inlay_hint.get({ bufnr = bufnr })) do
      local label = h.inlay_hint.label
      if type(label) == "table" then
        local parts = {}
        for _, part in ipairs(label) do
          table.insert(parts, part.value)
        end
        label = table.concat(parts)
      end
      table.insert(labels, label)
      if h.client_id == client.id and h.inlay_hint.position.line == line then
        on_line = label
      end
    end
    return labels, on_line
  end
  vim.wait(30000, function()
    local _, label = hints()
    return label ~= nil and label:find("req/s", 1, true) ~= nil
  end, 100)
  result.inlay_hints, result.inlay_hint = hints()

  -- K, as the user presses it: one float with what both servers answered.
  result.k_mapping = vim.fn.maparg("K", "n", false, true).desc or vim.fn.maparg("K", "n")
  vim.api.nvim_feedkeys("K", "mx", false)
  local float
  vim.wait(20000, function()
    for _, win in ipairs(vim.api.nvim_list_wins()) do
      if vim.api.nvim_win_get_config(win).relative ~= "" then
        float = win
        return true
      end
    end
    return false
  end, 50)
  if float then
    result.hover_float = vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(float), 0, -1, false)
  end
  -- Stop both servers and wait until their processes are gone (gopls writes its cache into the
  -- test's temporary directory); one that ignores the LSP exit gets SIGTERM.
  vim.lsp.stop_client(vim.lsp.get_clients())
  local function gone()
    return #vim.api.nvim_get_proc_children(vim.fn.getpid()) == 0
  end
  if not vim.wait(10000, gone, 50) then
    result.killed = vim.api.nvim_get_proc_children(vim.fn.getpid())
    for _, pid in ipairs(result.killed) do
      vim.uv.kill(pid, "sigterm")
    end
    vim.wait(10000, gone, 50)
  end
  finish()
end

local phases = { telemetry = telemetry, codeaction = codeaction, servers = servers }
local ok, err = xpcall(phases[os.getenv("AM_PHASE")] or telemetry, function(e)
  return debug.traceback(e, 2)
end)
if not ok then
  result.error = err
  finish()
end
