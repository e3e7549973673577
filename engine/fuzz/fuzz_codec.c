/*
 * fuzz_codec.c - libFuzzer target for engine/lua_codec.c: cl_decode_push on
 * arbitrary bytes in a real lua_State.
 *
 * Any input must come back as a value or as an error message, never a crash,
 * a leak or a Lua error. Oracle: whatever decodes encodes again with
 * cl_encode, and that encoding decodes.
 */
#include <stdint.h>
#include <stdlib.h>

#include <lualib.h>

#include "lua/lua_cicada.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lua_State *fuzz_state(void) {
  static lua_State *L;
  if (L == NULL) {
    L = luaL_newstate();
    if (L == NULL)
      abort();
    lua_newtable(L); /* cicada.core stand-in: registers the field array type */
    cl_open_array(L);
    cl_open_field(L);
    cl_open_rng(L);
    cl_open_codec(L);
    lua_pop(L, 1);
  }
  return L;
}

/* Runs under lua_pcall: re-encode the value at 1 and decode it again. */
static int reencode(lua_State *L) {
  char err[256];
  cc_buf *b = cl_encode(L, 1);
  if (!cl_decode_push(L, b->data, b->len, err, sizeof err))
    abort(); /* our own encoding must decode */
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static unsigned runs;
  lua_State *L = fuzz_state();
  char err[256];
  if (cl_decode_push(L, data, size, err, sizeof err)) {
    lua_pushcfunction(L, reencode);
    lua_insert(L, -2);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK)
      abort(); /* a decoded value must encode */
  } else if (err[0] == '\0') {
    abort(); /* every refusal says why */
  }
  lua_settop(L, 0);
  if (++runs % 256 == 0)
    lua_gc(L, LUA_GCCOLLECT);
  return 0;
}
