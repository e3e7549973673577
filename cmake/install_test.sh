#!/usr/bin/env bash
# install_test.sh BUILD_DIR SOURCE_DIR CC CMAKE LIBDIR HOST_FLAGS - the install
# test (LIBDIR: CMAKE_INSTALL_LIBDIR, e.g. lib).
#
# Installs the build tree under a temporary prefix, checks the installed
# files, runs the installed cicada-lua and a plain lua5.4 against the
# installed modules, then builds the example hosts against the installed tree
# twice - with pkg-config and with find_package(cicada), the C-only host also
# on the static library - and runs them. The
# hosts must find the installed Lua modules without LUA_PATH. HOST_FLAGS are
# extra compiler and linker flags (the sanitizers, for a sanitized build).
set -euo pipefail
build=$1 src=$2 cc=$3 cmake=$4 libdir=$5 host_flags=${6:-}

# Build tools run without the sanitizer runtime that CI preloads for the
# tests; the hosts built here get it back when they run.
run_preload=${LD_PRELOAD:-}
unset LD_PRELOAD

prefix=$(mktemp -d /tmp/cicada-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
fail() { echo "install_test: $*" >&2; exit 1; }
# The module file a probe reported (after PREFIX) is the installed one.
check_modules() {  # WHO PREFIX OUTPUT
  local path
  path=$(sed -n "s|^$2||p" <<<"$3" | head -1)
  [ -n "$path" ] && [ "$(realpath "$path")" = "$modules" ] ||
    fail "$1 did not load the installed modules ($modules)"
}
run_host() { LD_PRELOAD=$run_preload "$@"; }

echo "== install to $prefix"
"$cmake" --install "$build" --prefix "$prefix/usr" >/dev/null
P=$prefix/usr
L=$P/$libdir
modules=$(realpath "$P/share/lua/5.4/cicada/init.lua")
for f in include/cicada.h $libdir/libcicada.a $libdir/libcicada.so $libdir/pkgconfig/cicada.pc \
         $libdir/cmake/cicada/cicadaConfig.cmake $libdir/cmake/cicada/cicadaTargets.cmake \
         lib/lua/5.4/cicada/core.so share/lua/5.4/cicada/init.lua \
         share/lua/5.4/cicada/shamir.lua bin/cicada-lua share/man/man1/cicada-lua.1; do
  [ -e "$P/$f" ] || fail "missing $P/$f"
done

# Nothing may reach the source tree's modules through the Lua search paths:
# an empty LUA_PATH makes package.path empty.
cd "$prefix"
unset LUA_PATH_5_4 LUA_CPATH_5_4 LUA_INIT LUA_INIT_5_4
export LUA_PATH= LUA_CPATH=

echo "== the installed cicada-lua finds the installed modules"
cat >probe.lua <<'LUA'
local cicada = require("cicada")
print("module " .. package.searchpath("cicada", package.path))
local r = cicada.run{world_size = 2, fn = function(comm) return comm:allgather(comm.rank)[2] end}
print("run " .. r[1] .. " " .. r[2])
LUA
out=$(run_host "$P/bin/cicada-lua" probe.lua)
echo "$out"
check_modules cicada-lua "module " "$out"
grep -qx "run 1 1" <<<"$out" || fail "cicada-lua could not run players"

echo "== lua5.4 with the usual paths"
out=$(LUA_PATH="$P/share/lua/5.4/?.lua;$P/share/lua/5.4/?/init.lua;;" \
      LUA_CPATH="$P/lib/lua/5.4/?.so;;" run_host lua5.4 probe.lua)
echo "$out"
check_modules lua5.4 "module " "$out"
grep -qx "run 1 1" <<<"$out" || fail "lua5.4 could not run players"

check_hosts() {  # DIR: run DIR/lua_host and DIR/c_host
  local out
  out=$(run_host "$1/lua_host")
  echo "$out"
  check_modules "$1/lua_host" "cicada [0-9.]* from " "$out"
  grep -q "^player 2: sum of ranks 3, revealed 2.5 + 4 = 6.5$" <<<"$out" ||
    fail "$1/lua_host did not reveal the sum"
  out=$(run_host "$1/c_host")
  echo "$out"
  grep -qx "recovered the secret after losing player 2" <<<"$out" || fail "$1/c_host did not recover"
}

echo "== build the hosts with pkg-config"
export PKG_CONFIG_PATH=$L/pkgconfig
pkg-config --exists cicada || fail "pkg-config cannot find cicada"
[ "$(pkg-config --modversion cicada)" = "$(sed -n 's/^#define CICADA_VERSION_STRING "\(.*\)"/\1/p' "$P/include/cicada.h")" ] ||
  fail "cicada.pc and cicada.h disagree on the version"
mkdir pc
# shellcheck disable=SC2046,SC2086
for host in lua_host c_host; do
  "$cc" -std=c11 -Wall -Werror $host_flags -o pc/$host "$src/engine/examples/$host.c" \
    $(pkg-config --cflags --libs cicada) -Wl,-rpath,"$L"
done
check_hosts pc

echo "== build the hosts with find_package(cicada)"
"$cmake" -S "$src/cmake/install_test" -B cm -DCMAKE_PREFIX_PATH="$P" \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$host_flags" \
  -DCMAKE_EXE_LINKER_FLAGS="$host_flags" -DCICADA_EXAMPLES="$src/engine/examples" >/dev/null
"$cmake" --build cm >/dev/null
check_hosts cm
out=$(run_host cm/c_host_static)
grep -qx "recovered the secret after losing player 2" <<<"$out" || fail "cm/c_host_static did not recover"
ldd cm/c_host_static | grep -q libcicada && fail "cm/c_host_static is not linked statically"
echo "install_test: the installed tree works"
