/*
 * lua_cicada.h - what the Lua binding files (engine/lua_*.c) share.
 *
 * The engine core knows no Lua; these bindings turn Lua values into engine
 * calls and engine errors into Lua errors. Each lua_*.c file owns one type or
 * one group of functions and registers it into the `cicada.core` table with
 * its cl_open_* function, called from lua_module.c.
 */
#ifndef CICADA_LUA_CICADA_H
#define CICADA_LUA_CICADA_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>
#include <lauxlib.h>

/* ==== Field arrays ====================================================== */

#define CL_ARRAY_MT "cicada.FieldArray"
#define CL_FIELD_MT "cicada.Field"
#define CL_ARRAY_MAX_DIMS 2

/* A field array: elements of GF(order) as raw 64-bit words, row-major,
 * stored inline after the header. ndim is 0 (scalar, n == 1), 1 or 2. */
typedef struct cl_array {
  uint64_t order;
  int ndim;
  size_t shape[CL_ARRAY_MAX_DIMS];
  size_t n;
  uint64_t data[];
} cl_array;

/* Push a new zero-filled array; raises a Lua error if it is too large. */
cl_array *cl_array_push(lua_State *L, uint64_t order, int ndim, const size_t *shape);
cl_array *cl_array_check(lua_State *L, int idx);
cl_array *cl_array_test(lua_State *L, int idx); /* NULL if not an array */

/* ==== Registration ====================================================== */

/* Each adds its functions to the table on top of the stack. */
void cl_open_field(lua_State *L);
void cl_open_codec(lua_State *L);
void cl_open_comm(lua_State *L);
void cl_open_process(lua_State *L);

/* ==== Codec (lua_codec.c) ================================================ */

#include "core/wire.h"

#define CL_BUFFER_MT "cicada.Buffer"

/* Encode the value at idx (wire format in wire.h). Pushes a userdata
 * (metatable "cicada.Buffer", freed by __gc) holding the bytes and returns
 * its buffer: take them with cc_buf_steal() to send without another copy.
 * Raises a Lua error naming the path for values that cannot travel, e.g.
 * "cannot send a function (at value.x[3])": functions, coroutines, userdata
 * other than field arrays, tables that contain themselves, nesting or sizes
 * over the wire limits. Tables travel by their raw contents; metatables and
 * metamethods are neither sent nor called. */
cc_buf *cl_encode(lua_State *L, int idx);

/* Decode len bytes into a Lua value pushed on the stack and return 1. On
 * malformed input pushes nothing and returns 0 with the reader's message in
 * err (size errsz). Never raises for malformed bytes; raises only when Lua
 * runs out of memory. */
int cl_decode_push(lua_State *L, const void *buf, size_t len, char *err, size_t errsz);

#endif
