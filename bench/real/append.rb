# append.rb - real-program workload for ruby: build one big string with
# `<<` (a response body, a file assembled in memory).
# Ruby grows a string's buffer by realloc to about twice its capacity when
# an append does not fit, so reaching N MiB takes some 20 reallocs of ever
# larger blocks: an allocator that copies moves about the final size
# again, one that remaps moves nothing.
#   ruby append.rb MIB
# Prints the length and a checksum of 4096 samples of the string.
target = (ARGV[0] || 256).to_i << 20
pool = []
seed = 12345
64.times do |i|
  seed = (seed * 1103515245 + 12345) % 2147483648
  len = 1000 + seed % 7192
  row = (0...64).map { |j| (97 + (i * 7 + j * 13) % 26).chr }.join
  pool << (row * (len / 64 + 1))[0, len] + "\n"
end
# Binary strings: appends then copy bytes, with no encoding checks.
pool.map! { |p| p.b.freeze }
s = String.new(encoding: Encoding::BINARY)
i = 0
while s.bytesize < target
  s << pool[i % 64]
  i += 1
end
n = s.bytesize
sum = 0
4096.times do |k|
  at = k * (n - 16) / 4095
  s.byteslice(at, 16).each_byte { |b| sum = (sum * 31 + b) % 4294967296 }
end
puts "length #{n} checksum #{sum}"
