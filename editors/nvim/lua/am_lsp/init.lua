-- am-lsp for Neovim: live Autometrics numbers (hover, CodeLens, links to Grafana/Prometheus)
-- next to gopls. Works on Neovim 0.7.2 (Debian bookworm) and current releases.
--
--   require("am_lsp").setup({
--     cmd = { "am-lsp", "serve" },                        -- the server command (default)
--     settings = { prometheusUrl = "http://localhost:9090", grafanaUrl = "http://localhost:3000" },
--     filetypes = { "go" },                               -- buffers to attach to (default)
--     root_markers = { "go.mod", ".git" },                -- nearest go.mod wins, then .git
--     codelens = true,                                    -- keep CodeLens fresh (default)
--     hover_keymap = true,                                -- 0.10: K shows every server's hover
--     open_url = function(url) ... return true end,      -- how links open (default: xdg-open/open)
--     on_attach = function(client, bufnr) end,            -- called after ours
--     capabilities = {},                                  -- merged over ours
--   })
--
-- Contract with the server (am-lsp serve):
--   * settings go out as initializationOptions and answer workspace/configuration for the
--     section "am-lsp"; configure() pushes changes with workspace/didChangeConfiguration.
--   * capabilities Neovim's defaults omit are advertised: workspace.configuration,
--     workspace.codeLens.refreshSupport and window.showDocument.support; the server then sends
--     workspace/codeLens/refresh when new numbers arrive and window/showDocument
--     {uri, external = true} for the open commands, which this plugin routes to open_url.
--   * commands: am-lsp.openGrafana / openExplore / openPrometheus and am-lsp.instrument take
--     one argument {uri, position} (plus slo for instrument); am-lsp.status takes none.
local M = {}

local api = vim.api
local NAME = "am-lsp"
local SECTION = "am-lsp"

M.config = {
  cmd = { "am-lsp", "serve" },
  settings = {},
  filetypes = { "go" },
  root_markers = { "go.mod", ".git" },
  codelens = true,
  hover_keymap = true,
  open_url = nil,
  on_attach = nil,
  capabilities = {},
}

-- Compatibility shims -----------------------------------------------------------------------

local has_011 = vim.fn.has("nvim-0.11") == 1
local uv = vim.uv or vim.loop

-- Client methods became colon calls in 0.11 (the dot form is deprecated there).
local function request(client, method, params, handler, bufnr)
  if has_011 then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

local function notify_server(client, method, params)
  if has_011 then
    return client:notify(method, params)
  end
  return client.notify(method, params)
end

local function notify(msg, level)
  vim.notify("am-lsp: " .. msg, level or vim.log.levels.INFO)
end

-- Client names: this plugin's, and nvim-lspconfig's for a custom config registered as am_lsp.
local NAMES = { [NAME] = true, am_lsp = true }

--- The running am-lsp clients, all or those attached to bufnr.
function M.clients(bufnr)
  local all
  if vim.lsp.get_clients then -- 0.10+
    all = vim.lsp.get_clients({ bufnr = bufnr })
  else
    all = bufnr and vim.lsp.buf_get_clients(bufnr) or vim.lsp.get_active_clients()
  end
  local out = {}
  for _, client in pairs(all) do
    if NAMES[client.name] then
      table.insert(out, client)
    end
  end
  return out
end

-- Settings ----------------------------------------------------------------------------------

-- The settings object as the server reads it. Lua's JSON encoder writes an empty table as [],
-- which the server rejects where it expects an object.
local function wire_settings()
  local s = vim.deepcopy(M.config.settings or {})
  if s[SECTION] ~= nil then -- accept lspconfig-style { ["am-lsp"] = { ... } }
    s = s[SECTION]
  end
  if type(s.headers) == "table" and next(s.headers) == nil then
    s.headers = vim.empty_dict()
  end
  if next(s) == nil then
    return vim.empty_dict()
  end
  return s
end

--- Replaces the settings (same keys as setup's settings) and pushes them to running servers.
function M.configure(settings)
  M.config.settings = settings or {}
  for _, client in ipairs(M.clients()) do
    notify_server(client, "workspace/didChangeConfiguration", { settings = { [SECTION] = wire_settings() } })
  end
end

-- Opening links -----------------------------------------------------------------------------

local function system_open(url)
  if vim.ui and vim.ui.open then -- 0.10+
    local _, err = vim.ui.open(url)
    return err == nil
  end
  local cmd
  if vim.fn.has("mac") == 1 then
    cmd = { "open", url }
  elseif vim.fn.has("win32") == 1 then
    cmd = { "cmd.exe", "/c", "start", "", url }
  else
    cmd = { "xdg-open", url }
  end
  local ok, job = pcall(vim.fn.jobstart, cmd, { detach = true })
  return ok and job > 0
end

--- Opens url with the configured open_url (default: the system's opener). Returns success.
function M.open_url(url)
  local ok, res = pcall(M.config.open_url or system_open, url)
  if not ok or res == false then
    notify("could not open " .. url .. (ok and "" or (": " .. tostring(res))), vim.log.levels.WARN)
    return false
  end
  return true
end

-- Handlers for requests from the server -----------------------------------------------------

local handlers = {}

-- window/showDocument: external links (and any non-file URI) go to open_url; files open in
-- Neovim. 0.7 has no handler of its own for this method.
handlers["window/showDocument"] = function(err, params, ctx, config)
  if params.external or not params.uri:match("^file:") then
    return { success = M.open_url(params.uri) }
  end
  local default = vim.lsp.handlers["window/showDocument"]
  if default then
    return default(err, params, ctx, config)
  end
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  local origin = { line = 0, character = 0 }
  local location = { uri = params.uri, range = params.selection or { start = origin, ["end"] = origin } }
  return { success = vim.lsp.util.jump_to_location(location, client and client.offset_encoding or "utf-16") == true }
end

-- workspace/configuration: answers the "am-lsp" section with the current settings.
handlers["workspace/configuration"] = function(_, params)
  local out = {}
  for _, item in ipairs(params.items or {}) do
    if item.section == SECTION then
      table.insert(out, wire_settings())
    elseif item.section == nil or item.section == "" then
      table.insert(out, { [SECTION] = wire_settings() })
    else
      table.insert(out, vim.NIL)
    end
  end
  return out
end

-- CodeLens ----------------------------------------------------------------------------------

--- Asks am-lsp for fresh CodeLens in bufnr. Up to 0.11 the request goes to am-lsp alone (not
--- to every client, as vim.lsp.codelens.refresh() does, which also skips a buffer whose refresh
--- is still in flight and would drop the update new numbers bring); 0.12+ keeps enabled lenses
--- fresh by itself.
function M.refresh_codelens(bufnr)
  if not M.config.codelens or not api.nvim_buf_is_loaded(bufnr) then
    return
  end
  local codelens = vim.lsp.codelens
  if codelens.enable then -- 0.12+
    codelens.enable(true, { bufnr = bufnr })
    return
  end
  local params = { textDocument = vim.lsp.util.make_text_document_params(bufnr) }
  for _, client in ipairs(M.clients(bufnr)) do
    if client.initialized then
      request(client, "textDocument/codeLens", params, codelens.on_codelens, bufnr)
    end
  end
end

-- workspace/codeLens/refresh: new numbers arrived; refresh the buffers of that client.
handlers["workspace/codeLens/refresh"] = function(err, result, ctx, config)
  local default = vim.lsp.handlers["workspace/codeLens/refresh"]
  if vim.lsp.codelens.enable and default then -- 0.12+
    return default(err, result, ctx, config)
  end
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  for bufnr, attached in pairs(client and client.attached_buffers or {}) do
    if attached then
      M.refresh_codelens(bufnr)
    end
  end
  return vim.NIL
end

--- The handlers am-lsp needs beyond Neovim's, for a config made without setup() (nvim-lspconfig,
--- whose own workspace/configuration handler answers from the config's settings).
function M.handlers()
  return {
    ["window/showDocument"] = handlers["window/showDocument"],
    ["workspace/codeLens/refresh"] = handlers["workspace/codeLens/refresh"],
  }
end

--- Neovim's client capabilities plus what am-lsp uses and the defaults leave out.
function M.capabilities(extra)
  return vim.tbl_deep_extend("force", vim.lsp.protocol.make_client_capabilities(), {
    workspace = { configuration = true, codeLens = { refreshSupport = true } },
    window = { showDocument = { support = true } },
  }, extra or {})
end

-- Hover -------------------------------------------------------------------------------------

--- Shows every attached server's hover for the cursor position in one float, the servers'
--- cards separated by a rule (gopls's signature and docs next to am-lsp's numbers). Up to 0.10,
--- vim.lsp.buf.hover() shows only the first answer when two servers answer; 0.11+ merges them
--- itself, and there this is vim.lsp.buf.hover().
function M.hover()
  if has_011 then
    return vim.lsp.buf.hover()
  end
  local bufnr = api.nvim_get_current_buf()
  local params = vim.lsp.util.make_position_params()
  vim.lsp.buf_request_all(bufnr, "textDocument/hover", params, function(results)
    if api.nvim_get_current_buf() ~= bufnr then
      return -- the user moved on
    end
    local ids = vim.tbl_keys(results)
    table.sort(ids)
    local lines = {}
    for _, id in ipairs(ids) do
      local res = results[id].result
      local part = res and res.contents and vim.lsp.util.convert_input_to_markdown_lines(res.contents) or {}
      if vim.lsp.util.trim_empty_lines then -- up to 0.9
        part = vim.lsp.util.trim_empty_lines(part)
      end
      if #part > 0 then
        if #lines > 0 then
          table.insert(lines, "---")
        end
        vim.list_extend(lines, part)
      end
    end
    if #lines == 0 then
      vim.notify("No information available")
      return
    end
    vim.lsp.util.open_floating_preview(lines, "markdown", { focus_id = "textDocument/hover" })
  end)
end

-- Maps K in bufnr to M.hover() where Neovim mapped K to its own one-server hover (0.10's default
-- LSP mapping); a K the user mapped stays theirs.
local function map_hover(bufnr)
  if has_011 then
    return
  end
  api.nvim_buf_call(bufnr, function()
    if vim.fn.maparg("K", "n", false, true).desc == "vim.lsp.buf.hover()" then
      vim.keymap.set("n", "K", M.hover, { buffer = bufnr, desc = "am-lsp: every server's hover" })
    end
  end)
end

-- Starting and attaching --------------------------------------------------------------------

-- The nearest directory holding the first marker (in order) found above path, else path's dir.
local function find_root(path, markers)
  local start = vim.fn.fnamemodify(path, ":p:h")
  for _, marker in ipairs(markers) do
    local dir = start
    while true do
      if uv.fs_stat(dir .. "/" .. marker) then
        return dir
      end
      local parent = vim.fn.fnamemodify(dir, ":h")
      if parent == dir then
        break
      end
      dir = parent
    end
  end
  return start
end

local function on_attach(client, bufnr)
  local group = api.nvim_create_augroup("am_lsp_buf_" .. bufnr, { clear = true })
  if M.config.codelens then
    api.nvim_create_autocmd({ "BufEnter", "InsertLeave", "BufWritePost" }, {
      group = group,
      buffer = bufnr,
      callback = function()
        M.refresh_codelens(bufnr)
      end,
    })
    M.refresh_codelens(bufnr)
  end
  if M.config.hover_keymap ~= false then
    map_hover(bufnr)
  end
  local inlay = vim.lsp.inlay_hint
  if wire_settings().inlayHints and inlay and inlay.enable then -- 0.10+; enable(true, filter)
    pcall(inlay.enable, true, { bufnr = bufnr })
  end
  if M.config.on_attach then
    M.config.on_attach(client, bufnr)
  end
end

local function client_config(root)
  return {
    name = NAME,
    cmd = M.config.cmd,
    root_dir = root,
    init_options = wire_settings(),
    capabilities = M.capabilities(M.config.capabilities),
    handlers = vim.tbl_extend("force", {}, handlers), -- a table per client
    on_attach = on_attach,
  }
end

local started = {} -- root dir -> client id (0.7 only; vim.lsp.start reuses by itself)

--- Starts am-lsp for bufnr's project, or attaches the running one. Returns the client id.
function M.attach(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and api.nvim_get_current_buf() or bufnr
  local path = api.nvim_buf_get_name(bufnr)
  if vim.bo[bufnr].buftype ~= "" or path == "" or path:match("^%a[%w+.-]*://") then
    return nil -- not a file on disk
  end
  local root = find_root(path, M.config.root_markers)
  if vim.lsp.start then -- 0.8+; up to 0.9 it attaches the current buffer
    return api.nvim_buf_call(bufnr, function()
      return vim.lsp.start(client_config(root), { bufnr = bufnr })
    end)
  end
  local id = started[root]
  if not (id and vim.lsp.get_client_by_id(id)) then
    id = vim.lsp.start_client(client_config(root))
    started[root] = id
  end
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
  return id
end

-- User commands -----------------------------------------------------------------------------

-- Runs a server command with one argument {uri, position[, slo]} at the cursor.
local function run_at_cursor(command, slo)
  local bufnr = api.nvim_get_current_buf()
  local client = M.clients(bufnr)[1]
  if not client then
    notify("not attached to this buffer", vim.log.levels.WARN)
    return
  end
  local pos = vim.lsp.util.make_position_params(0, client.offset_encoding)
  local arg = { uri = pos.textDocument.uri, position = pos.position, slo = slo }
  request(client, "workspace/executeCommand", { command = command, arguments = { arg } }, function(err)
    if err then
      notify(command .. ": " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    end
  end, bufnr)
end

-- :AmInstrument [slo name] [success %] [latency ms] [latency target %]: the SLO fields given
-- are sent (numbers as numbers); with no argument the function gets a plain directive.
local function instrument(opts)
  local a = opts.fargs
  local slo
  if #a > 0 then
    slo = { name = a[1] }
    for i, key in ipairs({ "successTarget", "latencyMs", "latencyTarget" }) do
      local raw = a[i + 1]
      if raw ~= nil then
        slo[key] = tonumber(raw)
        if not slo[key] then
          notify(("AmInstrument: %s must be a number, not %q"):format(key, raw), vim.log.levels.ERROR)
          return
        end
      end
    end
  end
  run_at_cursor("am-lsp.instrument", slo)
end

local function status()
  local clients = M.clients(api.nvim_get_current_buf())
  if #clients == 0 then
    clients = M.clients()
  end
  if #clients == 0 then
    notify("no server is running", vim.log.levels.WARN)
    return
  end
  for _, client in ipairs(clients) do
    request(client, "workspace/executeCommand", { command = "am-lsp.status" }, function(err, res)
      if err then
        notify("status: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      elseif res then
        local reason = res.reason and (": " .. res.reason) or ""
        local level = res.ok and vim.log.levels.INFO or vim.log.levels.WARN
        notify(("%s %s%s"):format(res.backend or "?", res.ok and "ok" or "failing", reason), level)
      end
    end)
  end
end

--- Defines :AmGrafana, :AmExplore, :AmPrometheus, :AmInstrument and :AmStatus (plugin/am_lsp.lua
--- does at startup; they act on any am-lsp client attached to the current buffer).
function M.create_commands()
  local open = {
    AmGrafana = "am-lsp.openGrafana",
    AmExplore = "am-lsp.openExplore",
    AmPrometheus = "am-lsp.openPrometheus",
  }
  for name, command in pairs(open) do
    api.nvim_create_user_command(name, function()
      run_at_cursor(command)
    end, { desc = "am-lsp: open the function at the cursor (" .. command .. ")" })
  end
  api.nvim_create_user_command("AmInstrument", instrument, {
    nargs = "*",
    desc = "am-lsp: instrument the function at the cursor [slo] [success%] [latency-ms] [latency%]",
  })
  api.nvim_create_user_command("AmStatus", status, { desc = "am-lsp: backend status" })
end

-- Setup -------------------------------------------------------------------------------------

--- Registers am-lsp for the configured filetypes (see the top of this file for options) and
--- attaches it to matching buffers that are already open.
function M.setup(opts)
  for key, value in pairs(opts or {}) do
    M.config[key] = value
  end
  M.did_setup = true
  M.create_commands()
  local group = api.nvim_create_augroup("am_lsp", { clear = true })
  api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = M.config.filetypes,
    callback = function(args)
      M.attach(args.buf)
    end,
  })
  for _, bufnr in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(M.config.filetypes, vim.bo[bufnr].filetype) then
      M.attach(bufnr)
    end
  end
end

return M
