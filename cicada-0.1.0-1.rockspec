-- LuaRocks package of cicada: the native module cicada.core, the Lua
-- modules and the cicada-lua command, built and installed by CMake.
--   luarocks --lua-version 5.4 make     (from a checkout)
rockspec_format = "3.0"
package = "cicada"
version = "0.1.0-1"
source = {
  url = "git+file:///cicada-lua",   -- a checkout: build it with `luarocks make`
  tag = "v0.1.0",
}
description = {
  summary = "Fault-tolerant secure multiparty computation, scripted in Lua",
  detailed = [[
Several players jointly compute on Shamir-shared data over a prime field.
A C engine (libevent, OpenSSL) owns the links, failure detection and field
arithmetic; protocols and recovery policies are Lua. A failed player
raises an error the script catches; the survivors revoke, shrink and carry
on. Includes cicada-lua, a script runner and launcher of local,
multi-host and mpirun/srun worlds.
]],
  license = "MIT",
  labels = {"cryptography", "mpc", "secret-sharing", "distributed"},
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
external_dependencies = {
  LIBEVENT = {header = "event2/event.h"},
  OPENSSL = {header = "openssl/ssl.h"},
}
build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    CICADA_INSTALL_LUA_SUBDIR = "lua",
    CICADA_INSTALL_CMOD_SUBDIR = "lib",
    CICADA_WERROR = "OFF",
    CICADA_INSTALL_C_API = "OFF",
  },
  copy_directories = {"docs"},
}
