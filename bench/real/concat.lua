-- concat.lua - real-program workload for lua5.4: build one big string by
-- concatenation and one big array-like table (a report assembled from
-- pieces, a decoded list of numbers).
-- Lua gets all its memory through one function that calls realloc: a
-- table's array part doubles by realloc as it fills, and table.concat
-- assembles the string in a buffer that grows by realloc to 1.5 times
-- (luaL_Buffer), so both grow big blocks the way rezone is built for.
-- (`s = s .. piece` in a loop would copy the whole string on each step,
-- which no allocator can help, and would take minutes.)
--   lua5.4 concat.lua MIB
-- The string is MIB MiB; the table holds MIB * 65536 integers (16 bytes
-- each: another MIB MiB). Prints the lengths and checksums of 4096
-- samples of each.
local mib = tonumber(arg[1] or 128)
local target = mib * 1024 * 1024
local pool = {}
local seed = 12345
for i = 0, 63 do
	seed = (seed * 1103515245 + 12345) % 2147483648
	local len = 1000 + seed % 7192
	local row = {}
	for j = 0, 63 do row[#row + 1] = string.char(97 + (i * 7 + j * 13) % 26) end
	row = table.concat(row)
	pool[#pool + 1] = string.rep(row, len // 64 + 1):sub(1, len) .. "\n"
end

-- The pieces, then one concatenation of all of them.
local pieces = {}
local n, i = 0, 0
while n < target do
	local p = pool[i % 64 + 1]
	pieces[#pieces + 1] = p
	n = n + #p
	i = i + 1
end
local s = table.concat(pieces)
pieces = nil

-- The big table, filled in order so it stays an array.
local count = mib * 65536
local t = {}
for k = 1, count do t[k] = (k * 2654435761) % 4294967296 end

local sum, tsum = 0, 0
for k = 0, 4095 do
	local at = k * (#s - 16) // 4095 + 1
	for b = at, at + 15 do sum = (sum * 31 + s:byte(b)) % 4294967296 end
	tsum = (tsum * 31 + t[k * (count - 1) // 4095 + 1]) % 4294967296
end
print(string.format("length %d checksum %d table %d checksum %d", #s, sum, #t, tsum))
