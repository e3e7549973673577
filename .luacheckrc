-- luacheck configuration: `luacheck lua scripts spec` reports nothing.
std = "lua54"

-- The specs run under busted, which provides describe, it, assert.same,
-- pending, setup, after_each ... as globals.
files["spec/**/*_spec.lua"] = {std = "+busted"}

-- Identity, Boolean and Bits need no settings, yet their encode and decode
-- are methods like FixedPoint's, so that every encoding is called alike.
files["lua/cicada/encoding.lua"] = {self = false}
