/*
 * cxxprobe.cc - the C++ operator new/delete family under rezone, run with
 * librezone.so preloaded by test_cxx.c: one scenario per run (argv[1]),
 * exit 0 when it holds, 1 with a line on stderr when not, 77 when rezone is
 * not the allocator in this process (nothing to test).
 * Never linked against rezone: rezone_stats is looked up with dlsym.
 * Built with -fno-builtin-style care: every new/delete below has an effect
 * the compiler cannot drop (its pointer escapes through a volatile sink).
 */
#include <dlfcn.h>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <new>

#include "rezone.h"

namespace {

void *volatile sink;

int fail(const char *what)
{
	std::fprintf(stderr, "cxxprobe: %s\n", what);
	return 1;
}

bool stats(struct rezone_stats *s)
{
	using fn = int (*)(struct rezone_stats *, size_t);
	auto get = reinterpret_cast<fn>(dlsym(RTLD_DEFAULT, "rezone_stats"));
	return get && get(s, sizeof(*s)) == 0;
}

/* Every operator in the process is rezone's own, not libstdc++'s (whose
 * new would reach rezone through malloc, one frame later and unsized). */
int operators_are_rezones()
{
	static const char *const names[] = {
		"_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t",
		"_ZdlPv", "_ZdaPv", "_ZdlPvm", "_ZdaPvm", "_ZdlPvRKSt9nothrow_t",
		"_ZdaPvRKSt9nothrow_t", "_ZnwmSt11align_val_t", "_ZnamSt11align_val_t",
		"_ZnwmSt11align_val_tRKSt9nothrow_t", "_ZnamSt11align_val_tRKSt9nothrow_t",
		"_ZdlPvSt11align_val_t", "_ZdaPvSt11align_val_t", "_ZdlPvmSt11align_val_t",
		"_ZdaPvmSt11align_val_t", "_ZdlPvSt11align_val_tRKSt9nothrow_t",
		"_ZdaPvSt11align_val_tRKSt9nothrow_t",
	};
	for (const char *name : names) {
		Dl_info info;
		void *fn = dlsym(RTLD_DEFAULT, name);
		if (!fn || !dladdr(fn, &info) || !info.dli_fname ||
		    !std::strstr(info.dli_fname, "librezone")) {
			std::fprintf(stderr, "cxxprobe: %s resolves to %s\n", name,
				     fn && dladdr(fn, &info) ? info.dli_fname : "nothing");
			return 1;
		}
	}
	return 0;
}

/* A large new[] is a rezone large block and its delete[] frees it. */
int new_routes_to_rezone()
{
	struct rezone_stats a, b, c;
	if (!stats(&a))
		return 77;
	char *p = new char[1 << 20];
	std::memset(p, 1, 1 << 20);
	sink = p;
	stats(&b);
	delete[] p;
	stats(&c);
	if (b.large_allocs != a.large_allocs + 1 || b.large_live != a.large_live + 1)
		return fail("new char[1 MiB] is not a rezone large block");
	if (c.large_live != a.large_live)
		return fail("delete[] did not free the large block");
	/* Small ones go to the delegate and come back through delete. */
	for (int i = 0; i < 100000; i++) {
		int *q = new int[1 + i % 64];
		q[0] = i;
		sink = q;
		delete[] q;
		long *r = new long(i);
		sink = r;
		delete r;
	}
	return 0;
}

/* Sized delete (the compiler passes the size for these). */
struct Sized {
	char bytes[40];
};

int sized_delete_frees()
{
	for (int round = 0; round < 4; round++) {
		Sized *objs[4096];
		for (auto &o : objs) {
			o = new Sized;
			std::memset(o->bytes, round, sizeof(o->bytes));
			sink = o;
		}
		for (auto &o : objs) {
			if (o->bytes[39] != round)
				return fail("sized block corrupted");
			::operator delete(o, sizeof(Sized));
		}
		/* Arrays, and sizes from every small class up to 16 KiB. */
		for (size_t n = 1; n <= 16384; n += n / 8 + 1) {
			void *p = ::operator new[](n);
			std::memset(p, 0x5a, n);
			sink = p;
			::operator delete[](p, n);
		}
	}
	/* A large block freed by sized delete. */
	struct rezone_stats a, b;
	bool have = stats(&a);
	void *big = ::operator new(3 << 20);
	sink = big;
	::operator delete(big, size_t(3) << 20);
	if (have && stats(&b) && b.large_live != a.large_live)
		return fail("sized delete did not free the large block");
	return 0;
}

struct alignas(256) Aligned {
	char bytes[100];
};

int aligned_new_honours_alignment()
{
	static const size_t aligns[] = { 16, 32, 64, 256, 4096, 65536 };
	for (size_t al : aligns) {
		for (size_t n : { size_t(1), size_t(100), size_t(5000), size_t(300000) }) {
			void *p = ::operator new(n, std::align_val_t(al));
			if (reinterpret_cast<uintptr_t>(p) % al != 0)
				return fail("aligned new: misaligned");
			std::memset(p, 1, n);
			sink = p;
			::operator delete(p, n, std::align_val_t(al));
			p = ::operator new[](n, std::align_val_t(al), std::nothrow);
			if (!p || reinterpret_cast<uintptr_t>(p) % al != 0)
				return fail("aligned nothrow new[]: misaligned or NULL");
			sink = p;
			::operator delete[](p, std::align_val_t(al));
		}
	}
	Aligned *a = new Aligned[3];
	if (reinterpret_cast<uintptr_t>(a) % 256 != 0)
		return fail("new of an alignas(256) type: misaligned");
	sink = a;
	delete[] a;
	return 0;
}

/* Sizes no allocator can serve (above PTRDIFF_MAX). */
volatile size_t impossible = SIZE_MAX / 2 + 100;

int nothrow_new_returns_null()
{
	if (::operator new(impossible, std::nothrow) != nullptr)
		return fail("nothrow new of an impossible size is not NULL");
	if (::operator new[](impossible, std::nothrow) != nullptr)
		return fail("nothrow new[] of an impossible size is not NULL");
	if (::operator new(impossible, std::align_val_t(64), std::nothrow) != nullptr)
		return fail("aligned nothrow new of an impossible size is not NULL");
	return 0;
}

int throwing_new_throws_bad_alloc()
{
	int caught = 0;
	try {
		sink = ::operator new(impossible);
	} catch (const std::bad_alloc &) {
		caught++;
	}
	try {
		sink = ::operator new[](impossible);
	} catch (const std::bad_alloc &) {
		caught++;
	}
	try {
		sink = ::operator new(impossible, std::align_val_t(128));
	} catch (const std::bad_alloc &) {
		caught++;
	}
	return caught == 3 ? 0 : fail("new of an impossible size did not throw bad_alloc");
}

/* A handler that returns is called again until it gives up; one that
 * throws bad_alloc makes the nothrow forms return NULL. */
int handler_calls;

void counting_handler()
{
	if (++handler_calls == 3)
		std::set_new_handler(nullptr);
}

void throwing_handler()
{
	handler_calls++;
	throw std::bad_alloc();
}

int new_handler_is_called()
{
	std::set_new_handler(counting_handler);
	try {
		sink = ::operator new(impossible);
		return fail("new with a giving-up handler returned");
	} catch (const std::bad_alloc &) {
	}
	if (handler_calls != 3)
		return fail("new did not call the handler until it uninstalled itself");
	handler_calls = 0;
	std::set_new_handler(throwing_handler);
	if (::operator new(impossible, std::nothrow) != nullptr || handler_calls != 1)
		return fail("nothrow new with a throwing handler: not NULL after one call");
	std::set_new_handler(nullptr);
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)();
	} scenarios[] = {
		{ "operators_are_rezones", operators_are_rezones },
		{ "new_routes_to_rezone", new_routes_to_rezone },
		{ "sized_delete_frees", sized_delete_frees },
		{ "aligned_new_honours_alignment", aligned_new_honours_alignment },
		{ "nothrow_new_returns_null", nothrow_new_returns_null },
		{ "throwing_new_throws_bad_alloc", throwing_new_throws_bad_alloc },
		{ "new_handler_is_called", new_handler_is_called },
	};
	if (argc != 2)
		return fail("usage: cxxprobe SCENARIO");
	if (!dlsym(RTLD_DEFAULT, "rezone_version")) {
		std::printf("rezone is not preloaded\n");
		return 77;
	}
	for (const auto &s : scenarios)
		if (std::strcmp(argv[1], s.name) == 0)
			return s.run();
	return fail("unknown scenario");
}
