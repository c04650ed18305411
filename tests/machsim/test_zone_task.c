/*
 * test_zone_task.c - the zone's introspection from another task
 * (src/frontend/zone_task.c) in the Mach SIMULATION: a forked child holds
 * large blocks, and the parent enumerates, prints and counts them through
 * a memory reader built on process_vm_readv against the child's pid (the
 * simulated task_t carries it). After the fork the two tables differ: the
 * child frees one shared block, grows another and allocates three more;
 * the parent allocates blocks of other sizes. So a walk that dereferenced
 * the target's pointers instead of reading them would see the parent's
 * table and fail. Simulation results, not macOS results.
 */
#define _GNU_SOURCE /* process_vm_readv */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "machsim.h"
#include "engine/engine.h"

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)
#define MAX_BLOCKS 32

malloc_zone_t *rezone_zone(void);

static malloc_zone_t *rz(void)
{
	return rezone_zone();
}

/* A simulated task port for a pid; the flag keeps it apart from
 * mach_task_self() whatever the pid. */
#define TASK_OF_PID 0x40000000u

static task_t task_of(pid_t pid)
{
	return (task_t)pid | TASK_OF_PID;
}

/* ---- the reader ------------------------------------------------------------ */

/* Each answer is a fresh copy; the previous one is poisoned and freed, as
 * malloc.h allows (valid until the next call), so a walk that kept an
 * older answer reads garbage (or, under ASan, a freed block). */
static struct {
	unsigned char *buf;
	size_t len;
	unsigned calls, failures;
} rd;

static kern_return_t remote_reader(task_t task, vm_address_t addr, vm_size_t size, void **out)
{
	rd.calls++;
	if (rd.buf) {
		memset(rd.buf, 0xa5, rd.len);
		free(rd.buf);
	}
	rd.buf = malloc(size);
	rd.len = size;
	cr_assert_not_null(rd.buf);
	struct iovec local = { rd.buf, size }, remote = { (void *)addr, size };
	ssize_t n = process_vm_readv((pid_t)(task & ~TASK_OF_PID), &local, 1, &remote, 1, 0);
	if (n != (ssize_t)size) {
		rd.failures++;
		return KERN_INVALID_ADDRESS;
	}
	*out = rd.buf;
	return KERN_SUCCESS;
}

static kern_return_t failing_reader(task_t task, vm_address_t addr, vm_size_t size, void **out)
{
	(void)task; (void)addr; (void)size; (void)out;
	rd.calls++;
	return KERN_PROTECTION_FAILURE;
}

/* ---- the child ------------------------------------------------------------- */

struct block {
	uint64_t addr, size, reserved;
};

/* A process's large blocks, read in place by that process. */
struct truth {
	unsigned n;
	struct block b[MAX_BLOCKS];
	malloc_statistics_t st;
	uint64_t meta_base; /* its bookkeeping range */
};

static void truth_add(uintptr_t addr, size_t size, size_t reserved, void *arg)
{
	struct truth *t = arg;
	cr_assert_lt(t->n, MAX_BLOCKS);
	t->b[t->n++] = (struct block){ addr, size, reserved };
}

static void truth_take(struct truth *t)
{
	memset(t, 0, sizeof(*t));
	_rz_large_each(truth_add, t);
	rz()->introspect->statistics(rz(), &t->st);
	const struct _rz_large_view *v = _rz_large_view();
	t->meta_base = (uint64_t)*(uintptr_t *)(uintptr_t)v->meta_base_at;
}

static bool truth_has(const struct truth *t, uint64_t addr, uint64_t size, bool region)
{
	for (unsigned i = 0; i < t->n; i++)
		if (t->b[i].addr == addr && (region ? t->b[i].reserved : t->b[i].size) == size)
			return true;
	return false;
}

struct child {
	pid_t pid;
	int hold; /* closing it lets the child exit */
	void *shared[3], *mine[2];
	struct truth truth, parent;
};

static void read_all(int fd, void *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		cr_assert_gt(n, 0, "pipe: %s", n < 0 ? strerror(errno) : "closed");
		got += (size_t)n;
	}
}

static void child_start(struct child *c)
{
	int up[2], down[2];
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < 3; i++)
		c->shared[i] = rz()->malloc(rz(), (size_t)(i + 1) * MiB);
	cr_assert(pipe(up) == 0 && pipe(down) == 0);
	c->pid = machsim_fork();
	cr_assert_geq(c->pid, 0);
	if (c->pid == 0) {
		close(up[0]);
		close(down[1]);
		rz()->free(rz(), c->shared[1]);
		void *grown = rz()->realloc(rz(), c->shared[2], 9 * MiB);
		void *more[3] = { rz()->malloc(rz(), 5 * MiB), rz()->malloc(rz(), 7 * MiB),
			rz()->malloc(rz(), 640 * KiB) };
		struct truth t;
		truth_take(&t);
		ssize_t w = write(up[1], &t, sizeof(t));
		char c1;
		/* Held until the parent closes its end. */
		while (read(down[0], &c1, 1) > 0)
			;
		_exit(w == (ssize_t)sizeof(t) && grown && more[0] && more[1] && more[2] ? 0 : 1);
	}
	close(up[1]);
	close(down[0]);
	c->hold = down[1];
	c->mine[0] = rz()->malloc(rz(), 4 * MiB);
	c->mine[1] = rz()->malloc(rz(), 6 * MiB);
	read_all(up[0], &c->truth, sizeof(c->truth));
	close(up[0]);
	truth_take(&c->parent);
	/* The test means something only if the two tables differ. */
	cr_assert_gt(c->truth.n, 0);
	bool differ = c->truth.n != c->parent.n;
	for (unsigned i = 0; i < c->parent.n; i++)
		differ |= !truth_has(&c->truth, c->parent.b[i].addr, c->parent.b[i].size, false);
	cr_assert(differ, "parent and child hold the same blocks");
	/* process_vm_readv needs ptrace access to the child. */
	uint64_t probe;
	struct iovec local = { &probe, sizeof(probe) }, remote = { c->shared[0], sizeof(probe) };
	if (process_vm_readv(c->pid, &local, 1, &remote, 1, 0) < 0 &&
	    (errno == EPERM || errno == ENOSYS)) {
		close(c->hold);
		waitpid(c->pid, NULL, 0);
		cr_skip_test("process_vm_readv is not allowed here (%s)", strerror(errno));
	}
	memset(&rd, 0, sizeof(rd));
}

static void child_stop(struct child *c)
{
	int status;
	close(c->hold);
	cr_assert_eq(waitpid(c->pid, &status, 0), c->pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed (%#x)", status);
	free(rd.buf);
	rd.buf = NULL;
}

/* ---- what the tools are given ------------------------------------------------ */

struct seen {
	task_t task;
	unsigned n[3];
	vm_range_t r[3][64];
};

static int type_index(unsigned type)
{
	return type == MALLOC_PTR_IN_USE_RANGE_TYPE ? 0 :
	    type == MALLOC_PTR_REGION_RANGE_TYPE ? 1 :
	    type == MALLOC_ADMIN_REGION_RANGE_TYPE ? 2 : -1;
}

static void record(task_t task, void *ctx, unsigned type, vm_range_t *r, unsigned n)
{
	struct seen *s = ctx;
	int t = type_index(type);
	cr_assert_eq(task, s->task, "the recorder is given the task enumerated");
	cr_assert_geq(t, 0, "one range type per call (%#x)", type);
	for (unsigned i = 0; i < n; i++) {
		cr_assert_lt(s->n[t], 64);
		s->r[t][s->n[t]++] = r[i];
	}
}

static char printed[16384];
static size_t printed_len;

static void printer(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(printed + printed_len, sizeof(printed) - printed_len, fmt, ap);
	va_end(ap);
	cr_assert(n >= 0 && (size_t)n < sizeof(printed) - printed_len, "printer overflow");
	printed_len += (size_t)n;
}

static unsigned lines(const char *s)
{
	unsigned n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

TestSuite(zone_task, .description = "zone introspection of another task (Mach simulation)");

Test(zone_task, enumerator_reads_another_task_through_its_reader)
{
	struct child c;
	child_start(&c);
	struct seen s = { .task = task_of(c.pid) };
	kern_return_t kr = rz()->introspect->enumerator(task_of(c.pid), &s,
	    MALLOC_PTR_IN_USE_RANGE_TYPE | MALLOC_PTR_REGION_RANGE_TYPE |
	    MALLOC_ADMIN_REGION_RANGE_TYPE, (vm_address_t)rz(), remote_reader, record);
	cr_assert_eq(kr, KERN_SUCCESS);
	cr_assert_gt(rd.calls, 0, "the reader was not used");
	cr_assert_eq(rd.failures, 0);
	/* Exactly the child's blocks: its usable bytes, its reservations. */
	cr_assert_eq(s.n[0], c.truth.n, "in use: %u ranges, the child holds %u blocks",
	    s.n[0], c.truth.n);
	cr_assert_eq(s.n[1], c.truth.n);
	for (unsigned i = 0; i < s.n[0]; i++) {
		cr_assert(truth_has(&c.truth, s.r[0][i].address, s.r[0][i].size, false),
		    "in use %#lx (%lu bytes) is not the child's", (unsigned long)s.r[0][i].address,
		    (unsigned long)s.r[0][i].size);
		cr_assert(truth_has(&c.truth, s.r[1][i].address, s.r[1][i].size, true),
		    "region %#lx is not the child's", (unsigned long)s.r[1][i].address);
	}
	/* The bookkeeping: the child's range first, every piece in pages and
	 * clear of every block. */
	cr_assert_geq(s.n[2], 1);
	cr_assert_eq(s.r[2][0].address, c.truth.meta_base);
	for (unsigned i = 0; i < s.n[2]; i++) {
		vm_range_t a = s.r[2][i];
		cr_assert(a.size > 0 && a.size % 4096 == 0 && a.address % 4096 == 0);
		for (unsigned k = 0; k < c.truth.n; k++)
			cr_assert(a.address + a.size <= c.truth.b[k].addr ||
			    a.address >= c.truth.b[k].addr + c.truth.b[k].reserved,
			    "admin range over a block");
	}
	child_stop(&c);
}

Test(zone_task, enumerator_reports_only_the_types_asked_for)
{
	struct child c;
	child_start(&c);
	struct seen s = { .task = task_of(c.pid) };
	cr_assert_eq(rz()->introspect->enumerator(task_of(c.pid), &s, MALLOC_PTR_REGION_RANGE_TYPE,
	    (vm_address_t)rz(), remote_reader, record), KERN_SUCCESS);
	cr_assert_eq(s.n[0], 0);
	cr_assert_eq(s.n[1], c.truth.n);
	cr_assert_eq(s.n[2], 0);
	unsigned calls = rd.calls;
	cr_assert_eq(rz()->introspect->enumerator(task_of(c.pid), &s, MALLOC_ZONE_SPECIFIC_FLAGS,
	    (vm_address_t)rz(), remote_reader, record), KERN_SUCCESS);
	cr_assert_eq(rd.calls, calls, "nothing asked, nothing read");
	child_stop(&c);
}

Test(zone_task, print_task_prints_the_other_tasks_blocks)
{
	struct child c;
	child_start(&c);
	uint64_t bytes = 0, reserved = 0;
	for (unsigned i = 0; i < c.truth.n; i++) {
		bytes += c.truth.b[i].size;
		reserved += c.truth.b[i].reserved;
	}
	char want[256];
	snprintf(want, sizeof(want), ": %u large blocks, %llu bytes in use, %llu bytes reserved\n",
	    c.truth.n, (unsigned long long)bytes, (unsigned long long)reserved);
	printed_len = 0;
	printed[0] = 0;
	rz()->introspect->print_task(task_of(c.pid), 0, (vm_address_t)rz(), remote_reader, printer);
	cr_assert(strstr(printed, want), "got \"%s\", want \"%s\"", printed, want);
	cr_assert_eq(lines(printed), 1, "level 0: the summary only");
	printed_len = 0;
	printed[0] = 0;
	rz()->introspect->print_task(task_of(c.pid), 2, (vm_address_t)rz(), remote_reader, printer);
	cr_assert(strstr(printed, want));
	cr_assert_eq(lines(printed), 1 + c.truth.n, "verbose: a line per block\n%s", printed);
	for (unsigned i = 0; i < c.truth.n; i++) {
		snprintf(want, sizeof(want), "  %#llx: %llu bytes, %llu reserved\n",
		    (unsigned long long)c.truth.b[i].addr, (unsigned long long)c.truth.b[i].size,
		    (unsigned long long)c.truth.b[i].reserved);
		cr_assert(strstr(printed, want), "missing \"%s\" in\n%s", want, printed);
	}
	cr_assert_eq(rd.failures, 0);
	child_stop(&c);
}

Test(zone_task, task_statistics_are_the_other_tasks)
{
	struct child c;
	child_start(&c);
	malloc_statistics_t st;
	memset(&st, 0xff, sizeof(st));
	rz()->introspect->task_statistics(task_of(c.pid), (vm_address_t)rz(), remote_reader, &st);
	uint64_t reserved = 0;
	for (unsigned i = 0; i < c.truth.n; i++)
		reserved += c.truth.b[i].reserved;
	/* What the child's own statistics() said, read from afar. */
	cr_assert_eq(st.blocks_in_use, c.truth.st.blocks_in_use);
	cr_assert_eq(st.size_in_use, c.truth.st.size_in_use);
	cr_assert_eq(st.max_size_in_use, c.truth.st.max_size_in_use, "the peak: %zu, child %zu",
	    st.max_size_in_use, c.truth.st.max_size_in_use);
	cr_assert_eq(st.size_allocated, reserved);
	cr_assert_neq(st.size_in_use, c.parent.st.size_in_use, "the parent's figures");
	cr_assert_eq(rd.failures, 0);
	child_stop(&c);
}

Test(zone_task, a_failing_reader_reports_nothing)
{
	struct child c;
	child_start(&c);
	struct seen s = { .task = task_of(c.pid) };
	kern_return_t kr = rz()->introspect->enumerator(task_of(c.pid), &s,
	    MALLOC_PTR_IN_USE_RANGE_TYPE | MALLOC_ADMIN_REGION_RANGE_TYPE, (vm_address_t)rz(),
	    failing_reader, record);
	cr_assert_eq(kr, KERN_PROTECTION_FAILURE, "the reader's error is returned");
	cr_assert_eq(s.n[0] + s.n[1] + s.n[2], 0);
	malloc_statistics_t st;
	rz()->introspect->task_statistics(task_of(c.pid), (vm_address_t)rz(), failing_reader, &st);
	cr_assert_eq(st.blocks_in_use, 0);
	cr_assert_eq(st.size_allocated, 0);
	printed_len = 0;
	rz()->introspect->print_task(task_of(c.pid), 2, (vm_address_t)rz(), failing_reader, printer);
	cr_assert(strstr(printed, "cannot read"), "%s", printed);
	child_stop(&c);
}

/* A zone that is not rezone's carries no link: refused, nothing walked. */
Test(zone_task, a_zone_that_is_not_rezones_is_refused)
{
	struct child c;
	malloc_zone_t *other = machsim_zone_create("other"); /* the child's too */
	child_start(&c);
	struct seen s = { .task = task_of(c.pid) };
	kern_return_t kr = rz()->introspect->enumerator(task_of(c.pid), &s,
	    MALLOC_PTR_IN_USE_RANGE_TYPE, (vm_address_t)other, remote_reader, record);
	cr_assert_neq(kr, KERN_SUCCESS);
	cr_assert_eq(s.n[0], 0);
	child_stop(&c);
}

/* Without a reader, only the calling task itself can be read. */
Test(zone_task, no_reader_means_this_task_only)
{
	void *p = rz()->malloc(rz(), 2 * MiB);
	struct seen s = { .task = task_of(getpid()) };
	cr_assert_eq(rz()->introspect->enumerator(task_of(getpid()), &s,
	    MALLOC_PTR_IN_USE_RANGE_TYPE, (vm_address_t)rz(), NULL, record), KERN_INVALID_ARGUMENT);
	cr_assert_eq(s.n[0], 0);
	s.task = mach_task_self();
	cr_assert_eq(rz()->introspect->enumerator(mach_task_self(), &s,
	    MALLOC_PTR_IN_USE_RANGE_TYPE | MALLOC_ADMIN_REGION_RANGE_TYPE, (vm_address_t)rz(),
	    NULL, record), KERN_SUCCESS);
	bool found = false;
	for (unsigned i = 0; i < s.n[0]; i++)
		found |= s.r[0][i].address == (vm_address_t)p;
	cr_assert(found);
	cr_assert_geq(s.n[2], 1, "admin ranges in process too");
	rz()->free(rz(), p);
}
