/*
 * stress_exhaust.c - every function of the family under a lowered
 * RLIMIT_AS.
 *
 * In a child (so the limit dies with it), blocks on both paths are
 * allocated and tagged, then RLIMIT_AS is set a little above the address
 * space already in use. Requests that cannot fit must return NULL with
 * ENOMEM (posix_memalign: ENOMEM, *out untouched); the address space is
 * then exhausted with each function in turn at several sizes, a large
 * block is grown until it cannot grow, and after every step the earlier
 * blocks must still hold their tags. Once the exhausting blocks are
 * freed the allocator must serve requests again. A crash, an abort or a
 * wrong errno is a failure. The child writes only with write(2): stdio
 * may need memory that is not there.
 * May include: stress.h, the C library.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stress.h"

#define GiB (1024 * MiB)
#define HELD 6

static struct stress_block held[HELD];

static void exhaust_check_held(const char *when)
{
	for (int i = 0; i < HELD; i++)
		stress_verify(&held[i], when);
}

static size_t exhaust_vm_size(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t kb = 0;
	STRESS_CHECK(f != NULL, "/proc/self/status");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %zu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * KiB;
}

/* Checks that a call that cannot fit failed as the contract says. */
static void exhaust_expect_fail(void *p, const char *call)
{
	int err = errno;
	STRESS_CHECK(p == NULL, "%s succeeded under RLIMIT_AS (expected NULL)", call);
	STRESS_CHECK(err == ENOMEM, "%s: NULL with errno %d, expected ENOMEM", call, err);
	exhaust_check_held(call);
}

static void exhaust_too_big(void)
{
	void *p = (void *)&held, *q;
	int ret;
	size_t big = 4 * GiB;

#define TRY(expr) do { errno = 0; q = (expr); exhaust_expect_fail(q, #expr); } while (0)
	TRY(malloc(big));
	TRY(calloc(1, big));
	TRY(calloc((size_t)1 << 17, (size_t)1 << 15));
	TRY(realloc(NULL, big));
	TRY(realloc(held[0].p, big));
	TRY(realloc(held[2].p, big));
	TRY(realloc(held[4].p, big));
	TRY(reallocarray(held[1].p, (size_t)1 << 17, (size_t)1 << 15));
	TRY(reallocarray(held[3].p, (size_t)1 << 15, (size_t)1 << 17));
	TRY(reallocarray(NULL, (size_t)1 << 17, (size_t)1 << 15));
	TRY(memalign(64, big));
	TRY(memalign(4096, big));
	TRY(memalign(2 * MiB, big));
	TRY(aligned_alloc(4096, big));
	TRY(valloc(big));
	TRY(pvalloc(big));
#undef TRY
	static const size_t aligns[] = { 8, 64, 4096, 2 * MiB };
	for (unsigned i = 0; i < 4; i++) {
		errno = 0;
		ret = posix_memalign(&p, aligns[i], big);
		STRESS_CHECK(ret == ENOMEM, "posix_memalign(%zu, 4 GiB) returned %d", aligns[i], ret);
		STRESS_CHECK(p == (void *)&held, "posix_memalign changed *out on failure");
		exhaust_check_held("posix_memalign");
	}
}

/* Allocates size-byte blocks with function `how` until one fails; returns
 * how many succeeded. Every block is written (first and last byte). */
static size_t exhaust_fill(unsigned how, size_t size, void **blocks, size_t cap)
{
	size_t n = 0;
	for (; n < cap; n++) {
		void *p = NULL;
		int ret = 0;
		errno = 0;
		switch (how) {
		case 0: p = malloc(size); break;
		case 1: p = calloc(1, size); break;
		case 2: p = realloc(NULL, size); break;
		case 3: p = memalign(256, size); break;
		case 4: ret = posix_memalign(&p, 4096, size); break;
		case 5: p = aligned_alloc(64, size); break;
		case 6: p = valloc(size); break;
		default: p = reallocarray(NULL, 1, size); break;
		}
		if (how == 4) {
			STRESS_CHECK((ret == 0) == (p != NULL), "posix_memalign: ret %d, p %p", ret, p);
			STRESS_CHECK(ret == 0 || ret == ENOMEM, "posix_memalign returned %d", ret);
			if (ret)
				errno = ret;
		}
		if (!p) {
			STRESS_CHECK(errno == ENOMEM, "function %u, %zu bytes, block %zu: "
			    "NULL with errno %d", how, size, n, errno);
			break;
		}
		((unsigned char *)p)[0] = 1;
		((unsigned char *)p)[size - 1] = 2;
		blocks[n] = p;
	}
	return n;
}

/* Grows a large block 1 MiB at a time until realloc fails. */
static void exhaust_grow(void)
{
	struct stress_block b = { .seed = 99 };
	b.size = stress_threshold;
	b.p = malloc(b.size);
	if (!b.p)
		return; /* nothing left at all: the fill steps covered this */
	stress_tag(&b, 0, b.size);
	for (int i = 0; i < 100000; i++) {
		size_t n = b.size + MiB;
		errno = 0;
		unsigned char *q = realloc(b.p, n);
		if (!q) {
			STRESS_CHECK(errno == ENOMEM, "growth: NULL with errno %d", errno);
			stress_verify(&b, "after growth failed");
			break;
		}
		b.p = q;
		stress_verify(&b, "after growth");
		stress_tag(&b, b.size, n);
		b.size = n;
	}
	free(b.p);
}

static _Noreturn void exhaust_child(size_t margin)
{
	static const size_t sizes[] = { 48, 4000, 100 * KiB, 0 /* threshold */, 4 * MiB };
	const size_t cap = 8 << 20;
	static const size_t held_sizes[HELD] = { 100, 5000, 0, 0, 3 * MiB, 64 * KiB };
	void **blocks;

	alarm(120);
	for (int i = 0; i < HELD; i++) {
		size_t s = held_sizes[i] ? held_sizes[i] : stress_threshold + (size_t)i;
		held[i] = (struct stress_block){ .p = malloc(s), .size = s, .seed = (uint64_t)i + 1 };
		STRESS_CHECK(held[i].p != NULL, "setup malloc(%zu)", s);
		stress_tag(&held[i], 0, s);
	}
	/* The list of exhausting blocks must not need the allocator. */
	blocks = mmap(NULL, cap * sizeof(void *), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	STRESS_CHECK(blocks != MAP_FAILED, "mmap of the block list");
	struct rlimit rl = { .rlim_cur = exhaust_vm_size() + margin };
	rl.rlim_max = rl.rlim_cur;
	STRESS_CHECK(setrlimit(RLIMIT_AS, &rl) == 0, "setrlimit: %s", strerror(errno));

	exhaust_too_big();
	for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t size = sizes[s] ? sizes[s] : stress_threshold;
		for (unsigned how = 0; how < 8; how++) {
			size_t n = exhaust_fill(how, size, blocks, cap);
			STRESS_CHECK(n < cap, "%zu-byte blocks never ran out", size);
			exhaust_check_held("after exhausting the address space");
			exhaust_too_big();
			for (size_t i = 0; i < n; i++)
				free(blocks[i]);
			exhaust_check_held("after freeing the exhausting blocks");
			/* What was freed serves the same requests again. */
			if (n > 0) {
				size_t again = exhaust_fill(how, size, blocks, 1);
				STRESS_CHECK(again == 1, "function %u: %zu bytes fail after %zu "
				    "such blocks were freed", how, size, n);
				free(blocks[0]);
			}
		}
	}
	exhaust_grow();
	exhaust_check_held("after growing until failure");
	/* Everything was given back, but a large block may still not fit:
	 * jemalloc (like stock libjemalloc, unlike glibc) keeps the address
	 * space of freed small blocks (opt.retain) and does not coalesce it
	 * at once, so under a tight RLIMIT_AS neither rezone's mapping nor
	 * the small fallback finds room. Clean failure is all the contract
	 * asks; say what happened. */
	errno = 0;
	void *p = malloc(stress_threshold);
	if (!p) {
		STRESS_CHECK(errno == ENOMEM, "malloc(threshold): errno %d", errno);
		static const char note[] = "rzstress: note: after the exhaustion, "
		    "malloc(threshold) still fails (ENOMEM): freed small blocks' address "
		    "space is retained by the small allocator\n";
		if (write(2, note, sizeof(note) - 1) < 0)
			_exit(7);
	}
	free(p);
	p = malloc(100);
	STRESS_CHECK(p != NULL, "malloc(100) after the exhaustion");
	free(p);
	for (int i = 0; i < HELD; i++)
		free(held[i].p);
	_exit(0);
}

int stress_exhaust(const struct stress_opts *o)
{
	/* Just above what is in use (every headroom reservation fails), and
	 * with room for some large blocks but not for their headroom. */
	static const size_t margins[] = { 1 * MiB, 64 * MiB };
	double start = stress_now();
	(void)o;
	for (unsigned i = 0; i < sizeof(margins) / sizeof(margins[0]); i++) {
		fflush(stdout);
		pid_t pid = fork();
		STRESS_CHECK(pid >= 0, "fork: %s", strerror(errno));
		if (pid == 0)
			exhaust_child(margins[i]);
		int st;
		STRESS_CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
		if (WIFSIGNALED(st))
			stress_fail("exhaust (RLIMIT_AS = in use + %zu KiB): child killed by "
			    "signal %d", margins[i] / KiB, WTERMSIG(st));
		STRESS_CHECK(WEXITSTATUS(st) == 0, "exhaust child exited with %d",
		    WEXITSTATUS(st));
		printf("exhaust: RLIMIT_AS = in use + %zu KiB: every function failed with "
		    "ENOMEM, held blocks intact, %.1f s\n", margins[i] / KiB,
		    stress_now() - start);
	}
	return 0;
}
