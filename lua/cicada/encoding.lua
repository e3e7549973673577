--- cicada.encoding: how Lua values become field elements and back.
--
-- Each encoding has `:encode(value, field)` returning a field array and
-- `:decode(array, field)` returning a number (0-d array), a list (1-d) or a
-- list of rows (2-d). The per-element work is one C call (see
-- cicada.field).
--
--   FixedPoint{precision=16}  Lua numbers as round(x * 2^precision), rounded
--                             half away from zero; negatives wrap to p - |r|.
--                             Decodes to floats: values above (p-1)/2 are
--                             negative, so revealing a shared 1 gives 1.0.
--   Identity()                Lua integers as themselves (negatives wrap),
--                             and integer strings (decimal or 0x-hex, for
--                             values beyond Lua's integers in a 128-bit
--                             field); decodes to signed integers, or in a
--                             128-bit field to the decimal string of a value
--                             that does not fit a Lua integer.
--   Boolean()                 true/false (or 1/0) as 1/0; decodes to
--                             booleans (any nonzero element is true).
--   Bits()                    a non-negative integer as its field.bits bits,
--                             most significant bit first (6 in GF(7), whose
--                             bits is 3, is {1, 1, 0}); or a list of 0/1
--                             (or booleans) as given. Decodes to a list of
--                             0/1 integers and raises on an element that is
--                             not a bit.
-- @module cicada.encoding
local check = require("cicada.check")

local M = {}

local function class(name)
  local cls = {}
  cls.__index = cls
  cls.__name = "cicada.encoding." .. name
  return cls
end

local function check_field(field, fname)
  if field == nil then
    check.argerror(2, fname, "field expected, got nil")
  end
  return field
end

-- ==== FixedPoint ==========================================================

local FixedPoint = class("FixedPoint")

--- FixedPoint{precision=16}: `precision` fraction bits (0 to 62).
-- @tab[opt] options `precision`
-- @return the encoding
-- @raise `bad argument #1 to 'FixedPoint' (precision must be an integer in [0, 62], got 63)`
function M.FixedPoint(options)
  options = options or {}
  if type(options) ~= "table" then
    check.argerror(1, "FixedPoint", "options table expected, got " .. type(options))
  end
  local precision = options.precision
  if precision == nil then precision = 16 end
  if math.type(precision) ~= "integer" or precision < 0 or precision > 62 then
    check.argerror(1, "FixedPoint", "precision must be an integer in [0, 62], got "
                   .. tostring(precision))
  end
  return setmetatable({precision = precision}, FixedPoint)
end

--- The field array for a number, a list or a list of rows.
-- @param value the Lua value
-- @param field the field (cicada.Field)
-- @return a field array
-- @raise `bad argument #2 to 'encode' (field expected, got nil)`
function FixedPoint:encode(value, field)
  return check_field(field, "encode"):encode_fixed(value, self.precision)
end

--- The Lua value of a field array: floats.
-- @param array a field array
-- @param field the field
-- @return a number, a list or a list of rows
function FixedPoint:decode(array, field)
  return check_field(field, "decode"):decode_fixed(array, self.precision)
end

--- `FixedPoint(precision=16)`.
-- @treturn string
function FixedPoint:__tostring()
  return string.format("FixedPoint(precision=%d)", self.precision)
end

-- ==== Identity ============================================================

local Identity = class("Identity")

--- Lua integers as themselves (negatives wrap); decodes to signed integers.
-- @return the encoding
function M.Identity()
  return setmetatable({}, Identity)
end

--- The field array for an integer or a list of them.
-- @param value the Lua value
-- @param field the field
-- @return a field array
function Identity:encode(value, field)
  return check_field(field, "encode"):encode_int(value)
end

--- The signed integers of a field array.
-- @param array a field array
-- @param field the field
-- @return an integer, a list or a list of rows
function Identity:decode(array, field)
  return check_field(field, "decode"):decode_int(array)
end

--- `Identity()`.
-- @treturn string
function Identity:__tostring()
  return "Identity()"
end

-- ==== Boolean =============================================================

local Boolean = class("Boolean")

--- true/false (or 1/0) as 1/0; decodes to booleans.
-- @return the encoding
function M.Boolean()
  return setmetatable({}, Boolean)
end

--- The field array for a boolean or a list of them.
-- @param value the Lua value
-- @param field the field
-- @return a field array
function Boolean:encode(value, field)
  return check_field(field, "encode"):encode_bool(value)
end

--- The booleans of a field array (any nonzero element is true).
-- @param array a field array
-- @param field the field
-- @return a boolean, a list or a list of rows
function Boolean:decode(array, field)
  return check_field(field, "decode"):decode_bool(array)
end

--- `Boolean()`.
-- @treturn string
function Boolean:__tostring()
  return "Boolean()"
end

-- ==== Bits ================================================================

local Bits = class("Bits")

--- A non-negative integer as its field.bits bits, most significant first,
-- or a list of 0/1 as given; decodes to a list of 0/1.
-- @return the encoding
function M.Bits()
  return setmetatable({}, Bits)
end

--- The field array of an integer's bits, or of a list of bits.
-- @param value the Lua value
-- @param field the field
-- @return a field array
function Bits:encode(value, field)
  return check_field(field, "encode"):encode_bits(value)
end

--- The bits of a field array, as 0/1 integers.
-- @param array a field array
-- @param field the field
-- @return a list
-- @raise `bad argument #1 to 'decode_bits' (element 2 is not a bit)`
function Bits:decode(array, field)
  return check_field(field, "decode"):decode_bits(array)
end

--- `Bits()`.
-- @treturn string
function Bits:__tostring()
  return "Bits()"
end

-- ==== Decoding where shares are combined ==================================

--- The mode of `field:_combine_payloads` that decodes as an encoding's
-- `decode` does, by that decode function: a reveal combines the received
-- shares and decodes them in one pass when the encoding's decode is one of
-- these (a class or an object that replaces decode is not here, and is
-- called as usual).
-- @local
M._combine_modes = {
  [FixedPoint.decode] = "fixed",
  [Identity.decode] = "int",
  [Boolean.decode] = "bool",
}

return M
