-- Runs one Lua block of editors/nvim/README.md ($AM_SNIPPET) in Neovim with editors/nvim on the
-- runtimepath and a stand-in for nvim-lspconfig (which records what the block registers), and
-- writes what came out to $AM_OUT as JSON: the block's return value (a lazy.nvim spec is a bare
-- table), the plugin's settings after it ran, whether the :Am* commands exist, and the lspconfig
-- registration. Functions are reported as the string "function".
local out = assert(os.getenv("AM_OUT"))
local src = assert(io.open(assert(os.getenv("AM_SNIPPET")))):read("*a")
local result = {}

local function plain(v)
  if type(v) == "function" then
    return "function"
  elseif type(v) == "table" then
    local t = {}
    for k, x in pairs(v) do
      t[type(k) == "number" and k or tostring(k)] = plain(x)
    end
    return t
  end
  return v
end

local registered = {}
local configs = {}
package.loaded["lspconfig.configs"] = configs
package.loaded["lspconfig"] = setmetatable({
  util = {
    root_pattern = function(...)
      local markers = { ... }
      return function()
        return markers
      end
    end,
  },
}, {
  __index = function(_, name)
    if configs[name] then
      return {
        setup = function(config)
          registered.name, registered.default_config, registered.setup = name, configs[name].default_config, config
          if config.on_attach then -- must not fail for a buffer without a client yet
            config.on_attach({ id = 0, name = name }, vim.api.nvim_get_current_buf())
          end
        end,
      }
    end
  end,
})

local chunk, err = loadstring(src, "=README block")
if not chunk and src:match("^%s*{") then
  chunk, err = loadstring("return " .. src, "=README block")
end
if not chunk then
  result.error = "does not compile: " .. err
else
  local ok, ret = pcall(chunk)
  if not ok then
    result.error = "fails: " .. tostring(ret)
  end
  result.returned = plain(ret)
  result.settings = plain(require("am_lsp").config.settings)
  result.commands = vim.fn.exists(":AmGrafana") == 2 and vim.fn.exists(":AmStatus") == 2
  result.lspconfig = plain(registered)
end

local f = assert(io.open(out, "w"))
f:write(vim.fn.json_encode(result))
f:close()
vim.cmd("qall!")
