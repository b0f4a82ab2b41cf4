-- luacheck (Debian: lua-check) settings for the plugin and its test scripts; run from editors/nvim.
std = "luajit"
globals = { "vim" }
max_line_length = 120
