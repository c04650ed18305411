/*
 * native.c - the macOS zone on a real Mac (built and run by `make check` on
 * Darwin only; see tests/macos/run.sh). Run with librezone.dylib injected
 * through DYLD_INSERT_LIBRARIES, it checks what the Linux simulation can
 * only model: promotion to zone 0 of the real libmalloc, large blocks
 * tagged VM_MEMORY_MALLOC_LARGE, growth in place tagged VM_MEMORY_REALLOC,
 * the vm_copy fallback when the neighbour is taken, and a fork child that
 * allocates. `native hold` allocates large blocks and waits on stdin, for
 * heap/vmmap/leaks to inspect. Prints one "ok"/"not ok" line per check.
 * May include: C, POSIX and Mach headers.
 */
#include <mach/mach.h>
#if __has_include(<mach/mach_vm.h>)
#include <mach/mach_vm.h>
#else
/* zig's bundled headers (the Linux cross build compiles this file) lack
 * <mach/mach_vm.h>; Apple's SDK has it. */
kern_return_t mach_vm_allocate(vm_map_t, mach_vm_address_t *, mach_vm_size_t, int);
kern_return_t mach_vm_deallocate(vm_map_t, mach_vm_address_t, mach_vm_size_t);
kern_return_t mach_vm_region_recurse(vm_map_t, mach_vm_address_t *, mach_vm_size_t *,
    natural_t *, vm_region_recurse_info_t, mach_msg_type_number_t *);
#endif
#include <malloc/malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MiB ((size_t)1 << 20)

static int failures;

static void check(int ok, const char *what)
{
	printf("%s - %s\n", ok ? "ok" : "not ok", what);
	failures += !ok;
}

/* The user tag of the map entry holding p, or -1. */
static int tag_at(const void *p)
{
	mach_vm_address_t addr = (mach_vm_address_t)(uintptr_t)p;
	mach_vm_size_t size = 0;
	natural_t depth = 0;
	struct vm_region_submap_info_64 info;
	mach_msg_type_number_t count = VM_REGION_SUBMAP_INFO_COUNT_64;
	if (mach_vm_region_recurse(mach_task_self(), &addr, &size, &depth,
	    (vm_region_recurse_info_t)&info, &count) != KERN_SUCCESS)
		return -1;
	if (addr > (mach_vm_address_t)(uintptr_t)p)
		return -1;
	return (int)info.user_tag;
}

static malloc_zone_t *zone0(void)
{
	vm_address_t *zones = NULL;
	unsigned count = 0;
	if (malloc_get_all_zones(mach_task_self(), NULL, &zones, &count) != KERN_SUCCESS || !count)
		return NULL;
	return (malloc_zone_t *)zones[0];
}

static int hold(void)
{
	void *blocks[4];
	for (int i = 0; i < 4; i++) {
		blocks[i] = malloc((size_t)(i + 1) * MiB);
		memset(blocks[i], i + 1, (size_t)(i + 1) * MiB);
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	char c;
	while (read(0, &c, 1) > 0)
		;
	for (int i = 0; i < 4; i++)
		free(blocks[i]);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "hold") == 0)
		return hold();

	malloc_zone_t *z = zone0();
	check(z && z->zone_name && strcmp(z->zone_name, "rezone") == 0, "rezone is zone 0");

	unsigned char *p = malloc(1 * MiB);
	check(p && z && z->size(z, p) >= 1 * MiB, "zone 0 owns a 1 MiB block");
	check(tag_at(p) == VM_MEMORY_MALLOC_LARGE, "large block tagged VM_MEMORY_MALLOC_LARGE");
	memset(p, 0x5a, 1 * MiB);

	/* Past the headroom: the range behind is free in a fresh process far
	 * more often than not; the growth is then a fixed map tagged REALLOC. */
	unsigned char *q = realloc(p, 64 * MiB);
	check(q && q[1 * MiB - 1] == 0x5a, "grown block keeps its bytes");
	if (q == p)
		check(tag_at(q + 32 * MiB) == VM_MEMORY_REALLOC ||
		    tag_at(q + 32 * MiB) == VM_MEMORY_MALLOC_LARGE,
		    "growth in place tagged VM_MEMORY_REALLOC (or inside the reservation)");
	free(q);

	/* Occupy the range right behind a block: growth must copy. */
	unsigned char *r = malloc(4 * MiB);
	memset(r, 0x33, 4 * MiB);
	size_t have = malloc_size(r);
	mach_vm_address_t behind = (mach_vm_address_t)(uintptr_t)r + have;
	kern_return_t kr = mach_vm_allocate(mach_task_self(), &behind, 1 * MiB, VM_FLAGS_FIXED);
	unsigned char *s = realloc(r, have + 256 * MiB);
	check(s && s[4 * MiB - 1] == 0x33 && s[0] == 0x33, "vm_copy fallback keeps the bytes");
	if (kr == KERN_SUCCESS)
		check(s != r, "occupied neighbour: the block moved");
	free(s);
	if (kr == KERN_SUCCESS)
		mach_vm_deallocate(mach_task_self(), behind, 1 * MiB);

	void *small = malloc(100);
	check(small && malloc_size(small) >= 100, "small sizes served (the delegate)");
	free(small);

	pid_t pid = fork();
	if (pid == 0) {
		void *c = malloc(8 * MiB);
		_exit(c && malloc_size(c) >= 8 * MiB ? 0 : 1);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fork child allocates");

	return failures ? 1 : 0;
}
