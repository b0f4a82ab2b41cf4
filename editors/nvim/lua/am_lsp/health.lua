-- :checkhealth am_lsp — is setup() called, is the server installed, are the running servers
-- reaching their backend, can links be opened.
local M = {}

-- vim.health.start/ok/... since 0.9 (0.10 drops the report_ names); require("health") on 0.7.
local health = vim.health or require("health")
local start = health.start or health.report_start
local ok = health.ok or health.report_ok
local warn = health.warn or health.report_warn
local fail = health.error or health.report_error
local info = health.info or health.report_info

-- url without its userinfo, read as the server reads it (internal/credurl): everything between
-- "://" (or the start) and the last "@", since a password may hold "/", "?", "#" or "@" unencoded.
function M.redact_url(url)
  local scheme_end = url:find("://", 1, true)
  local host_at = scheme_end and scheme_end + 3 or 1
  local after = url:sub(host_at):match("^.*@(.*)$")
  if not after then
    return url
  end
  return url:sub(1, host_at - 1) .. after
end

function M.check()
  local am = require("am_lsp")
  start("am-lsp")
  if vim.fn.has("nvim-0.7") == 1 then
    ok("Neovim " .. tostring(vim.version().major) .. "." .. vim.version().minor .. "." .. vim.version().patch)
  else
    fail("Neovim 0.7 or newer is needed")
  end
  if am.did_setup then
    ok('require("am_lsp").setup() was called')
  else
    warn('require("am_lsp").setup() was not called: am-lsp does not start for Go buffers')
  end

  local cmd = am.config.cmd
  if type(cmd) == "table" and vim.fn.executable(cmd[1]) == 1 then
    local version = vim.fn.system({ cmd[1], "version" })
    ok(("%s: %s"):format(vim.fn.exepath(cmd[1]), vim.trim(version)))
  else
    fail(("server not found: %s"):format(vim.inspect(cmd)), {
      "go install github.com/am-lsp/am-lsp/cmd/am-lsp@latest",
      'or set setup{ cmd = { "/path/to/am-lsp", "serve" } }',
    })
  end

  local url = (am.config.settings or {}).prometheusUrl or os.getenv("AM_PROMETHEUS_URL")
  info("prometheusUrl: " .. (url and M.redact_url(url) or "not set (the server uses http://localhost:9090)"))

  if am.config.open_url then
    ok("links open with your open_url function")
  elseif vim.ui and vim.ui.open then
    ok("links open with vim.ui.open")
  else
    local opener = vim.fn.has("mac") == 1 and "open" or "xdg-open"
    if vim.fn.has("win32") == 1 or vim.fn.executable(opener) == 1 then
      ok("links open with " .. opener)
    else
      warn(opener .. " not found: the server shows links in a message instead", {
        "set setup{ open_url = function(url) ... end }",
      })
    end
  end

  local clients = am.clients()
  if #clients == 0 then
    info("no am-lsp server is running (open a Go file)")
  end
  for _, client in ipairs(clients) do
    local req = vim.fn.has("nvim-0.11") == 1 and function(...)
      return client:request_sync(...)
    end or client.request_sync
    local res = req("workspace/executeCommand", { command = "am-lsp.status" }, 3000)
    local status = res and res.result
    local where = ("client %d (%s)"):format(client.id, client.config.root_dir or "?")
    if status and status.ok then
      ok(("%s: %s reachable%s"):format(where, status.backend, status.reason and (" — " .. status.reason) or ""))
    elseif status then
      warn(("%s: %s: %s"):format(where, status.backend or "no backend", status.reason or "failing"))
    else
      warn(where .. ": no answer to am-lsp.status " .. vim.inspect(res and res.err))
    end
  end
end

return M
