# bytearray.py - real-program workload for python3: build one big bytes
# buffer by appending (a network reader, a file assembled in memory).
# CPython grows a bytearray by realloc to 1.125 times what it needs, so
# reaching N MiB takes some 100 reallocs: an allocator that copies moves
# about 9 times the final size, one that remaps moves nothing.
#   python3 bytearray.py MIB
# Prints the length and a CRC of 4096 samples of the buffer.
import sys
import zlib

target = int(sys.argv[1] if len(sys.argv) > 1 else 256) << 20
pool = []
seed = 12345
for i in range(64):
    seed = (seed * 1103515245 + 12345) % 2147483648
    n = 1000 + seed % 7192
    row = bytes(97 + (i * 7 + j * 13) % 26 for j in range(64))
    pool.append((row * (n // 64 + 1))[:n] + b"\n")
buf = bytearray()
i = 0
while len(buf) < target:
    buf += pool[i % 64]
    i += 1
n = len(buf)
samples = b"".join(bytes(buf[k * (n - 16) // 4095:k * (n - 16) // 4095 + 16]) for k in range(4096))
print("length %d crc %d" % (n, zlib.crc32(samples)))
