/*
 * test_exports.c - specification of librezone.so's dynamic symbol table:
 * the whole malloc family, the rezone API, dlopen/dlmopen,
 * pthread_create and thrd_create, setrlimit and prlimit are exported,
 * exactly those, and nothing of
 * the embedded jemalloc or of rezone's internals leaks out, where it could
 * clash with another copy of jemalloc in the same process.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <string.h>

#include "elf_exports.h"
#include "spawn.h"

TestSuite(exports, .timeout = 30);

static struct elf_exports table;

static void exports_load(void)
{
	const char *lib = spawn_library();
	const char *why;

	cr_assert(lib != NULL, "REZONE_LIB is not set");
	why = elf_exports_read(lib, &table);
	cr_assert(why == NULL, "%s: %s", lib, why);
}

static void exports_require_functions(const char *const names[])
{
	exports_load();
	for (size_t i = 0; names[i]; i++) {
		const struct elf_export *e = elf_exports_find(&table, names[i]);

		cr_expect(e != NULL, "%s is not exported", names[i]);
		cr_expect(!e || e->function, "%s is exported but is not a "
			  "function", names[i]);
	}
	elf_exports_release(&table);
}

Test(exports, library_exports_the_whole_malloc_family)
{
	static const char *const family[] = {
		"malloc", "free", "calloc", "realloc", "reallocarray",
		"memalign", "posix_memalign", "aligned_alloc", "valloc",
		"pvalloc", "malloc_usable_size", "free_sized",
		"free_aligned_sized", "cfree", "__libc_malloc", "__libc_free",
		"__libc_calloc", "__libc_realloc", "__libc_memalign",
		"__libc_valloc", "__libc_pvalloc", "__libc_mallinfo",
		"__libc_mallopt", "mlockall", "munlockall", NULL,
	};

	exports_require_functions(family);
}

/* C++: operator new/delete (plain, nothrow, array, sized, aligned), as
 * Itanium ABI names, so C++ programs reach rezone without libstdc++'s. */
Test(exports, library_exports_the_cxx_operator_new_delete_family)
{
	static const char *const family[] = {
		"_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t",
		"_ZdlPv", "_ZdaPv", "_ZdlPvm", "_ZdaPvm",
		"_ZdlPvRKSt9nothrow_t", "_ZdaPvRKSt9nothrow_t",
		"_ZnwmSt11align_val_t", "_ZnamSt11align_val_t",
		"_ZnwmSt11align_val_tRKSt9nothrow_t",
		"_ZnamSt11align_val_tRKSt9nothrow_t",
		"_ZdlPvSt11align_val_t", "_ZdaPvSt11align_val_t",
		"_ZdlPvmSt11align_val_t", "_ZdaPvmSt11align_val_t",
		"_ZdlPvSt11align_val_tRKSt9nothrow_t",
		"_ZdaPvSt11align_val_tRKSt9nothrow_t", NULL,
	};

	exports_require_functions(family);
}

Test(exports, library_exports_glibcs_malloc_extensions)
{
	static const char *const ext[] = {
		"mallinfo2", "mallinfo", "malloc_stats", "malloc_info",
		"mallopt", "malloc_trim", NULL,
	};

	exports_require_functions(ext);
}

Test(exports, library_exports_the_rezone_api)
{
	static const char *const api[] = {
		"rezone_expand", "rezone_stats", "rezone_version", NULL,
	};

	exports_require_functions(api);
}

Test(exports, library_exports_dlopen_and_dlmopen)
{
	/* They drop RTLD_DEEPBIND (src/frontend/deepbind_linux.c). */
	static const char *const dl[] = { "dlopen", "dlmopen", NULL };

	exports_require_functions(dl);
}

Test(exports, library_exports_pthread_create_and_thrd_create)
{
	/* New threads set up the small delegate first
	 * (src/frontend/thread_linux.c). */
	static const char *const th[] = {
		"pthread_create",
#if defined(HAVE_THREADS_H)
		"thrd_create",
#endif
		NULL };

	exports_require_functions(th);
}

Test(exports, library_exports_setrlimit_and_prlimit)
{
	/* A limit on memory prepares the small delegate before it holds
	 * (src/frontend/limit_linux.c). */
	static const char *const lim[] = {
		"setrlimit", "setrlimit64", "prlimit", "prlimit64", NULL };

	exports_require_functions(lim);
}

Test(exports, library_exports_unshare_and_setns)
{
	/* A call that needs the process to have one thread ends rezone's
	 * helper thread first (src/frontend/namespace_linux.c). */
	static const char *const ns[] = { "unshare", "setns", NULL };

	exports_require_functions(ns);
}

Test(exports, library_exports_mmap)
{
	/* A program's mapping refused under a limit gets back what rezone
	 * keeps (src/frontend/mmap_linux.c). */
	static const char *const m[] = { "mmap", "mmap64", NULL };

	exports_require_functions(m);
}

Test(exports, library_exports_mprotect)
{
	/* A block the program protected is not cached when freed
	 * (src/frontend/protect_linux.c). */
	static const char *const prot[] = { "mprotect", "pkey_mprotect", NULL };

	exports_require_functions(prot);
}

/* The whole export table, exactly: anything else would be a leak of an
 * internal or embedded name (rezone.map). */
Test(exports, library_exports_exactly_its_list)
{
	static const char *const all[] = {
		"malloc", "free", "calloc", "realloc", "reallocarray",
		"memalign", "posix_memalign", "aligned_alloc", "valloc",
		"pvalloc", "malloc_usable_size", "free_sized",
		"free_aligned_sized", "cfree", "__libc_malloc", "__libc_free",
		"__libc_calloc", "__libc_realloc", "__libc_memalign",
		"__libc_valloc", "__libc_pvalloc", "__libc_mallinfo", "__libc_mallopt",
		"rezone_expand", "rezone_stats", "rezone_version",
		"dlopen", "dlmopen", "mlockall", "munlockall", "mprotect", "pkey_mprotect",
		"pthread_create",
#if defined(HAVE_THREADS_H)
		"thrd_create",
#endif
		"mallinfo2", "mallinfo", "malloc_stats", "malloc_info", "mallopt",
		"malloc_trim", "setrlimit", "setrlimit64", "prlimit", "prlimit64",
		"unshare", "setns", "mmap", "mmap64",
		"_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t",
		"_ZnwmSt11align_val_t", "_ZnamSt11align_val_t",
		"_ZnwmSt11align_val_tRKSt9nothrow_t", "_ZnamSt11align_val_tRKSt9nothrow_t",
		"_ZdlPv", "_ZdaPv", "_ZdlPvm", "_ZdaPvm", "_ZdlPvRKSt9nothrow_t",
		"_ZdaPvRKSt9nothrow_t", "_ZdlPvSt11align_val_t", "_ZdaPvSt11align_val_t",
		"_ZdlPvmSt11align_val_t", "_ZdaPvmSt11align_val_t",
		"_ZdlPvSt11align_val_tRKSt9nothrow_t", "_ZdaPvSt11align_val_tRKSt9nothrow_t",
		NULL,
	};
	exports_load();
	for (size_t i = 0; i < table.count; i++) {
		bool listed = false;
		for (size_t j = 0; all[j]; j++)
			listed = listed || strcmp(table.sym[i].name, all[j]) == 0;
		cr_expect(listed, "unexpected export: %s", table.sym[i].name);
	}
	for (size_t j = 0; all[j]; j++)
		cr_expect(elf_exports_find(&table, all[j]) != NULL, "%s is not exported", all[j]);
	elf_exports_release(&table);
}

/* jemalloc's own public names, and the prefixes its renamed copies use. */
static bool exports_is_jemalloc(const char *name)
{
	static const char *const names[] = {
		"mallocx", "rallocx", "xallocx", "sallocx", "dallocx",
		"sdallocx", "nallocx", "mallctl", "mallctlnametomib",
		"mallctlbymib", "malloc_stats_print", "malloc_message",
		"malloc_conf", NULL,
	};

	for (size_t i = 0; names[i]; i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return strncmp(name, "je_", 3) == 0 || strncmp(name, "rzje_", 5) == 0 ||
	       strstr(name, "jemalloc") != NULL;
}

Test(exports, library_exports_no_jemalloc_names)
{
	exports_load();
	for (size_t i = 0; i < table.count; i++)
		cr_expect(!exports_is_jemalloc(table.sym[i].name),
			  "jemalloc name exported: %s", table.sym[i].name);
	elf_exports_release(&table);
}

/* Cross-file internals are named _rz_*: they must stay inside. */
Test(exports, library_exports_no_internal_rezone_names)
{
	exports_load();
	for (size_t i = 0; i < table.count; i++)
		cr_expect(strncmp(table.sym[i].name, "_rz_", 4) != 0,
			  "internal name exported: %s", table.sym[i].name);
	elf_exports_release(&table);
}
