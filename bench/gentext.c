/*
 * gentext.c - writes deterministic text, the input of the real-program
 * workloads (not a workload itself).
 *
 *   gentext size=N [seed=N]
 *
 * Lines of pseudo-random lowercase words (fixed-seed xorshift): the same
 * bytes on every machine, compressible like prose, no two lines alike.
 * Depends on libc only (see bench.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench.h"

int main(int argc, char **argv)
{
	size_t size = 64 << 20, seed = 1, done = 0, n = 0;
	const struct bench_opt opts[] = {
		{ "size", &size, "bytes to write" },
		{ "seed", &seed, "PRNG seed" },
	};
	static char buf[1 << 16];
	uint64_t rng = 0x2545f4914f6cdd1du ^ (uint64_t)seed;

	bench_parse_args(argc, argv, "Writes size bytes of deterministic text.",
			 opts, sizeof(opts) / sizeof(opts[0]));
	while (done < size) {
		uint64_t r = bench_rand(&rng);
		size_t len = 1 + r % 9;

		if (n + 16 > sizeof(buf) || done + n + len + 1 > size) {
			if (fwrite(buf, 1, n, stdout) != n)
				return 1;
			done += n;
			n = 0;
			if (done + len + 1 > size) {
				while (done < size) {
					fputc('\n', stdout);
					done++;
				}
				break;
			}
		}
		for (size_t i = 0; i < len; i++, r >>= 5)
			buf[n++] = (char)('a' + (r & 31) % 26);
		buf[n++] = (bench_rand(&rng) & 7) == 0 ? '\n' : ' ';
	}
	return fflush(stdout) ? 1 : 0;
}
