/*
 * vm_linux.c - the platform contract (os.h) on Linux: mmap, mremap,
 * madvise, named anonymous mappings, pthread mutexes.
 *
 * Thin system-call wrappers; policy lives in the engine. Facts that shape
 * them (measured on our machines, see DESIGN.md):
 * - growth by mapping the adjacent range leaves VMAs that may not merge and
 *   a later mremap over them fails with EFAULT, so growth in place is
 *   mremap(p, old, new, 0) on one mapping;
 * - MREMAP_MAYMOVE moves page tables; with equal offsets modulo 2 MiB whole
 *   page-table pages move (1 GiB in ~0.2 ms, against ~4 ms otherwise);
 * - under vm.overcommit_memory=2 read-write mappings are charged, so
 *   reservations are PROT_NONE there and pages are opened with mprotect
 *   as blocks grow.
 * May include: os.h, config.h, Linux and POSIX headers.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_PR_SET_VMA_ANON_NAME
#include <linux/futex.h>
#include <linux/prctl.h>
#endif

#include "backend/os.h"
#include "backend/posix.h"

#if !defined(__linux__)
#error "vm_linux.c is the Linux backend"
#endif

#define LINUX_HUGE_ALIGN ((size_t)2 << 20)

struct _rz_os_caps _rz_caps;

_Static_assert(sizeof(pthread_mutex_t) <= sizeof(_rz_mutex_t), "mutex too big");

/* vm.overcommit_memory: 0 heuristic, 1 always, 2 strict. */
static int linux_overcommit;

/* open, read and close without being cancellation points: rezone reads
 * procfs and sysfs from inside malloc and from a new thread's set-up, and
 * a deferred cancel acting there unwound a thread holding jemalloc's
 * arenas lock (a thread cancelled right after pthread_create under a
 * limit: its start routine never ran, and the next thread that needed an
 * arena hung). glibc's open() and read() act on a pending cancel;
 * syscall() does not. */
static int linux_open_ro(const char *path)
{
	return (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
}

static ssize_t linux_read_fd(int fd, void *buf, size_t n)
{
	return (ssize_t)syscall(SYS_read, fd, buf, n);
}

static void linux_close_fd(int fd)
{
	(void)syscall(SYS_close, fd);
}

static int linux_read_overcommit(void)
{
	/* Read without stdio: we may be inside malloc. */
	int fd = linux_open_ro("/proc/sys/vm/overcommit_memory");
	if (fd < 0)
		return 0;
	char c = '0';
	ssize_t n = linux_read_fd(fd, &c, 1);
	linux_close_fd(fd);
	return n == 1 && c >= '0' && c <= '2' ? c - '0' : 0;
}

/* The start of a small file (procfs, sysfs) into buf, NUL-terminated;
 * system calls only. */
static bool linux_read_file(const char *path, char *buf, size_t size)
{
	int fd = linux_open_ro(path);
	if (fd < 0)
		return false;
	ssize_t n = linux_read_fd(fd, buf, size - 1);
	linux_close_fd(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

size_t _rz_os_max_map_count(void)
{
	char buf[32];
	if (!linux_read_file("/proc/sys/vm/max_map_count", buf, sizeof(buf)))
		return 0;
	size_t v = 0;
	for (const char *t = buf; *t >= '0' && *t <= '9'; t++)
		v = v * 10 + (size_t)(*t - '0');
	return v;
}

static bool linux_read_status(char *buf, size_t size)
{
	return linux_read_file("/proc/self/status", buf, size);
}

/* The number after a "\nName:" line's tabs and spaces (kB units are the
 * caller's). */
static bool linux_status_field(const char *buf, const char *name, size_t *value)
{
	const char *t = strstr(buf, name);
	if (!t)
		return false;
	for (t += strlen(name); *t == ' ' || *t == '\t'; t++)
		;
	if (*t < '0' || *t > '9')
		return false;
	size_t v = 0;
	for (; *t >= '0' && *t <= '9'; t++)
		v = v * 10 + (size_t)(*t - '0');
	*value = v;
	return true;
}

unsigned _rz_os_thread_count(void)
{
	/* System calls only: this runs in fork's prepare handler, maybe
	 * inside a signal handler. /proc/self/task has a link for each
	 * thread beside . and ..: one stat, 3 us here, against 16-19 us to
	 * read and parse /proc/self/status (which stays the fallback). */
	struct stat st;
	if (stat("/proc/self/task", &st) == 0 && st.st_nlink > 2)
		return (unsigned)(st.st_nlink - 2);
	char buf[2048];
	size_t count;
	if (!linux_read_status(buf, sizeof(buf)) || !linux_status_field(buf, "\nThreads:", &count))
		return 0;
	return (unsigned)count;
}

bool _rz_os_vm_use(size_t *as_bytes, size_t *data_bytes)
{
	char buf[2048];
	size_t as_kib, data_kib;
	if (!linux_read_status(buf, sizeof(buf)) ||
	    !linux_status_field(buf, "\nVmSize:", &as_kib) ||
	    !linux_status_field(buf, "\nVmData:", &data_kib))
		return false;
	*as_bytes = as_kib << 10;
	*data_bytes = data_kib << 10;
	return true;
}

bool _rz_os_commit_possible(size_t size)
{
	/* Mode 0 refuses one mapping bigger than RAM + swap (mm/util.c
	 * __vm_enough_memory); mode 1 refuses nothing; mode 2 charges every
	 * writable mapping, so the small delegate's own mmap is checked. */
	if (linux_overcommit != 0)
		return true;
	struct sysinfo si;
	if (sysinfo(&si) != 0)
		return true;
	unsigned long long pages = ((unsigned long long)si.totalram + si.totalswap) * si.mem_unit;
	return size <= pages;
}

/* The kernel's THP mode from sysfs ("always [madvise] never"), or what
 * REZONE_THP_KERNEL says (a testing aid: tests emulate a mode the machine
 * is not in). Read without stdio. */
static int linux_thp_mode(void)
{
	const char *force = _rz_os_getenv("REZONE_THP_KERNEL");
	char buf[128] = "";
	if (force) {
		size_t n = strlen(force) < sizeof(buf) - 3 ? strlen(force) : sizeof(buf) - 3;
		buf[0] = '[';
		memcpy(buf + 1, force, n);
		buf[n + 1] = ']';
		buf[n + 2] = '\0';
	} else {
		int fd = linux_open_ro("/sys/kernel/mm/transparent_hugepage/enabled");
		if (fd < 0)
			return RZ_THP_NONE;
		ssize_t n = linux_read_fd(fd, buf, sizeof(buf) - 1);
		linux_close_fd(fd);
		if (n <= 0)
			return RZ_THP_NONE;
		buf[n] = '\0';
	}
	if (strstr(buf, "[always]"))
		return RZ_THP_ALWAYS;
	if (strstr(buf, "[madvise]"))
		return RZ_THP_MADVISE;
	return RZ_THP_NONE;
}

int _rz_os_init(bool strict)
{
	long pg = sysconf(_SC_PAGESIZE);
	_rz_caps.page_size = pg > 0 ? (size_t)pg : 4096;
	_rz_caps.move_align = LINUX_HUGE_ALIGN;
#ifdef HAVE_MREMAP
	_rz_caps.can_extend = true;
#endif
#ifdef HAVE_MREMAP_MAYMOVE
	_rz_caps.can_move = true;
#endif
	linux_overcommit = linux_read_overcommit();
	_rz_caps.commit_is_free = !strict && linux_overcommit != 2;
#ifdef HAVE_PR_SET_VMA_ANON_NAME
	_rz_caps.can_name = true;
#endif
	_rz_caps.va_size = (size_t)1 << 47; /* 4-level page tables */
	_rz_caps.realloc_zero_frees = true; /* glibc: realloc(p, 0) frees, returns NULL */
	_rz_caps.shrink_keeps_pages = true;
#ifdef MADV_HUGEPAGE
	_rz_caps.thp_mode = linux_thp_mode();
#endif
	return 0;
}

static int linux_prot(bool writable)
{
	return writable ? PROT_READ | PROT_WRITE : PROT_NONE;
}

/* Maps size bytes at an address aligned to align by over-mapping and
 * trimming the ends (two munmaps at most). Never MAP_NORESERVE: under
 * overcommit 0 that flag skips the kernel's check, so malloc(1 TiB) on a
 * 24 GiB machine "succeeded" and the process was killed when it touched
 * the memory; and a reservation made with it is not charged when
 * mprotect later opens it. Without it the kernel refuses what it cannot
 * back, as it does for glibc; inaccessible reservations are not charged
 * until opened. */
static int linux_map_aligned(size_t size, size_t align, int prot, void **out)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	size_t pg = _rz_caps.page_size;
	if (align <= pg) {
		void *p = _rz_os_kernel_mmap(NULL, size, prot, flags, -1, 0);
		if (p == MAP_FAILED)
			return errno;
		*out = p;
		return 0;
	}
	size_t span = size + align - pg;
	if (span < size)
		return ENOMEM;
	char *raw = _rz_os_kernel_mmap(NULL, span, prot, flags, -1, 0);
	if (raw == MAP_FAILED)
		return errno;
	char *p = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	if (raw + span > p + size)
		munmap(p + size, (size_t)(raw + span - (p + size)));
	*out = p;
	return 0;
}

void *_rz_os_kernel_mmap(void *addr, size_t len, int prot, int flags, int fd, long off)
{
	long r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);
	return r == -1 ? MAP_FAILED : (void *)r;
}

int _rz_vm_map(size_t size, size_t align, bool writable, void **out)
{
	return linux_map_aligned(size, align, linux_prot(writable), out);
}

int _rz_vm_unmap(void *p, size_t size)
{
	return munmap(p, size) == 0 ? 0 : errno;
}

/* rezone exports mprotect (frontend/protect_linux.c, which marks the
 * blocks a program protects); its own calls go straight to the kernel,
 * under a block's lock that the export would take again. */
static int linux_open_rw(void *p, size_t size)
{
	return syscall(SYS_mprotect, p, size, PROT_READ | PROT_WRITE) == 0 ? 0 : errno;
}

int _rz_vm_commit(void *p, size_t size)
{
	if (size == 0)
		return 0;
	return linux_open_rw(p, size);
}

int _rz_vm_decommit(void *p, size_t size)
{
	if (size == 0)
		return 0;
	if (_rz_caps.commit_is_free)
		return madvise(p, size, MADV_DONTNEED) == 0 ? 0 : errno;
	/* Strict commit: mapping PROT_NONE over the range drops the pages and
	 * the commit charge in one call. */
	void *q = _rz_os_kernel_mmap(p, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	return q == MAP_FAILED ? errno : 0;
}

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000 /* Linux 4.17; older kernels: a hint */
#endif

bool _rz_vm_moves_split(void)
{
	static int known; /* 0: not probed, 1: no, 2: yes */
	int k = __atomic_load_n(&known, __ATOMIC_RELAXED);
	if (k)
		return k == 2;
	bool yes = false;
#if defined(HAVE_MREMAP_MAYMOVE) && defined(HAVE_MREMAP_FIXED)
	/* Two pages of different protection are two mappings; moved onto a
	 * reservation of our own, with one call. */
	size_t pg = _rz_caps.page_size;
	char *src = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *dst = mmap(NULL, 2 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src != MAP_FAILED && dst != MAP_FAILED &&
	    syscall(SYS_mprotect, src + pg, pg, PROT_READ) == 0) {
		yes = mremap(src, 2 * pg, 2 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, dst) == dst;
		if (yes)
			src = MAP_FAILED; /* moved: nothing left there */
	}
	if (src != MAP_FAILED)
		munmap(src, 2 * pg);
	if (dst != MAP_FAILED)
		munmap(dst, 2 * pg);
#endif
	__atomic_store_n(&known, yes ? 2 : 1, __ATOMIC_RELAXED);
	return yes;
}

int _rz_vm_commit_grow(void *p, size_t open, size_t new_open, size_t reserved)
{
	char *hole = (char *)p + open;
	size_t len = new_open - open;
#ifdef HAVE_MREMAP
	if (open == 0)
		return _rz_vm_commit(p, new_open);
	/* [hole, hole+len) is rezone's PROT_NONE reservation: handed back for
	 * an instant so that the open mapping can grow over it in place. */
	if (munmap(hole, len) != 0)
		return errno;
	if (mremap(p, open, new_open, 0) != MAP_FAILED)
		return 0;
	/* Commit refused, mlock limit, or an open part of several mappings
	 * (EFAULT): take the range back and open it beside (two mappings). */
	void *r = _rz_os_kernel_mmap(hole, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
	    -1, 0);
	if (r == hole)
		return linux_open_rw(hole, len);
	/* Another thread's mapping landed in the range meanwhile: the rest
	 * of the reservation goes back too, and the caller knows. */
	if (r != MAP_FAILED)
		munmap(r, len);
	if (reserved > new_open)
		munmap((char *)p + new_open, reserved - new_open);
	return EEXIST;
#else
	(void)reserved;
	return _rz_vm_commit(hole, len);
#endif
}

int _rz_vm_extend(void *p, size_t old_size, size_t new_size)
{
#ifdef HAVE_MREMAP
	/* With strict commit the reservation is two mappings (open part and
	 * PROT_NONE tail); mremap over both fails, so it moves instead. */
	if (!_rz_caps.commit_is_free)
		return ENOTSUP;
	/* A failing mremap costs milliseconds on large mappings (measured:
	 * 2-5 ms for 4 MiB -> 22 MiB), and the range after a fresh mapping is
	 * usually taken (mappings are placed top-down). Two mincore probes
	 * (~1 us) rule the common case out first. */
	char *end = (char *)p + old_size;
	if (_rz_vm_is_mapped(end) ||
	    _rz_vm_is_mapped((char *)p + new_size - _rz_caps.page_size))
		return ENOMEM;
	void *q = mremap(p, old_size, new_size, 0);
	return q == MAP_FAILED ? errno : 0;
#else
	(void)p; (void)old_size; (void)new_size;
	return ENOTSUP;
#endif
}

#if defined(HAVE_MREMAP_MAYMOVE) && defined(HAVE_MREMAP_FIXED)
/* No room for a destination beside the source, as under RLIMIT_AS when
 * the block is a third of it or more (512 MiB to 1 GiB under ulimit -v
 * 1500000, with 80 MiB live elsewhere, failed where glibc's realloc
 * succeeds): the kernel picks the place and charges only the growth. The
 * result is page-aligned only: a later move to a 2 MiB-aligned
 * destination then copies page-table entries instead of moving whole
 * page tables (slower, still no copy of the bytes), and a block that was
 * aligned beyond a page loses that alignment, which realloc never
 * promised (C and glibc, whose mremap does the same; large_move).
 * Free commit: the whole reservation is one mapping and moves (len is
 * old_size). Strict commit: only the open part [p, p+len) moves, to
 * exactly new_size bytes, all of them the block's (the caller asked for
 * no headroom); the PROT_NONE rest of the old reservation is then given
 * back. The open part is one mapping once its growths have merged
 * (mprotect merges equal neighbours); where it is not, mremap says
 * EFAULT and the block is copied, as before.
 * Beyond new_used the new place holds at most a guard page (guard mode):
 * it moved read-write and is made PROT_NONE after, which also drops its
 * charge. Guard mode never took this way (150 MiB -> 500 MiB under
 * 560 MiB of RLIMIT_AS beyond use failed where glibc succeeds). Should
 * that mmap fail (vm.max_map_count), the page stays read-write: the
 * block loses its guard, not its bytes. */
static int linux_move_anywhere(void *p, size_t old_size, size_t len, size_t new_used,
    size_t new_size, void **out)
{
	void *q = mremap(p, len, new_size, MREMAP_MAYMOVE);
	if (q == MAP_FAILED)
		return errno;
	if (len < old_size)
		munmap((char *)p + len, old_size - len);
	if (!_rz_caps.commit_is_free && new_size > new_used)
		(void)_rz_vm_decommit((char *)q + new_used, new_size - new_used);
	*out = q;
	return 0;
}
#endif

int _rz_vm_move(void *p, size_t old_size, size_t used, size_t new_used,
    size_t new_size, size_t align, void **out)
{
#if defined(HAVE_MREMAP_MAYMOVE) && defined(HAVE_MREMAP_FIXED)
	/* Reserve the destination first, aligned as the block asks and to
	 * 2 MiB when it is that big, then move the pages over it: the
	 * destination is ours and well aligned. */
	size_t huge = new_size >= LINUX_HUGE_ALIGN ? LINUX_HUGE_ALIGN : _rz_caps.page_size;
	if (align < huge)
		align = huge;
	void *dst;
	int err = linux_map_aligned(new_size, align, PROT_NONE, &dst);
	/* Under mlockall(MCL_FUTURE) the kernel locks even a PROT_NONE
	 * destination and counts all of it (and the alignment slack) against
	 * RLIMIT_MEMLOCK: EAGAIN, where mremap counts only the growth (2 MiB
	 * grown to 3 MiB under 6 MiB of limit failed; glibc's realloc does
	 * not). Both refusals take the kernel's place. */
	bool refused = err == ENOMEM || err == EAGAIN;
	if (refused && _rz_caps.commit_is_free)
		return linux_move_anywhere(p, old_size, old_size, new_size, new_size, out);
	/* Strict commit, under RLIMIT_AS the destination beside the source
	 * needs old + new (a block of 512 MiB doubled under 1280 MiB of
	 * limit failed where glibc's realloc succeeds, since mremap charges
	 * only the growth). Without headroom to reserve (a guard page at
	 * most), move the open part where the kernel likes: headroom moved
	 * that way would be charged until made PROT_NONE again. */
	if (refused && new_size - new_used <= _rz_caps.page_size)
		return linux_move_anywhere(p, old_size, used, new_used, new_size, out);
	if (err)
		return err;
	/* Free commit: the whole reservation moves and grows to new_size.
	 * Strict: the open part [p, p+used) moves and grows to new_used in
	 * the same call (charged the growth), so the block's open part stays
	 * one mapping; the rest of dst stays reserved. Opened beside it with
	 * mprotect, the growth was a second mapping (the moved one keeps its
	 * page offset, the kernel does not merge them), which a later move
	 * that must also resize cannot take (EFAULT): 10 MiB -> 150 MiB ->
	 * 500 MiB under 560 MiB of RLIMIT_AS beyond use was copied, and
	 * failed, where glibc succeeds. */
	size_t len = _rz_caps.commit_is_free ? old_size : used;
	size_t to = _rz_caps.commit_is_free ? new_size : new_used;
	void *q = mremap(p, len, to, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	/* An open part of several mappings (pages the program protected, or
	 * grown beside a moved mapping where that is allowed: engine/large.c,
	 * large_open_block) can move only as it is, where the kernel moves
	 * several mappings at once (Linux 6.17 and later): open the growth in
	 * dst first, then move without resizing. Those kernels refuse before
	 * touching dst; older ones unmap dst first (then it is a hole, and
	 * only the munmap below follows). */
	if (q == MAP_FAILED && errno == EFAULT && to > len && _rz_vm_moves_split() &&
	    _rz_vm_is_mapped(dst) && linux_open_rw((char *)dst + len, to - len) == 0)
		q = mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	if (q == MAP_FAILED) {
		err = errno;
		munmap(dst, new_size);
		return err;
	}
	if (len < old_size)
		munmap((char *)p + len, old_size - len);
	*out = q;
	return 0;
#else
	(void)p; (void)old_size; (void)used; (void)new_used; (void)new_size; (void)align;
	(void)out;
	return ENOTSUP;
#endif
}

void _rz_vm_copy(void *dst, const void *src, size_t size)
{
	memcpy(dst, src, size);
}

void _rz_vm_prefault(void *p, size_t size)
{
#ifdef MADV_POPULATE_WRITE
	/* Linux 5.14+; older kernels say EINVAL and the pages fault as usual. */
	int saved = errno;
	madvise(p, size, MADV_POPULATE_WRITE);
	errno = saved;
#else
	(void)p; (void)size;
#endif
}

void _rz_vm_name(void *p, size_t size)
{
#ifdef HAVE_PR_SET_VMA_ANON_NAME
	/* Kernels without CONFIG_ANON_VMA_NAME say EINVAL: stop asking. */
	if (!_rz_caps.can_name)
		return;
	int saved = errno;
	if (prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)p, size,
	    (unsigned long)"rezone") != 0 && errno == EINVAL)
		_rz_caps.can_name = false;
	errno = saved;
#else
	(void)p; (void)size;
#endif
}

void _rz_vm_hugepage(void *p, size_t size, bool on)
{
#if defined(MADV_HUGEPAGE) && defined(MADV_NOHUGEPAGE)
	if (_rz_caps.thp_mode == RZ_THP_NONE)
		return;
	int saved = errno;
	madvise(p, size, on ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	errno = saved;
#else
	(void)p; (void)size; (void)on;
#endif
}

/* Free page reporting: a virtio balloon (device 0x0005) that negotiated
 * VIRTIO_BALLOON_F_REPORTING (feature bit 5, the sixth character of its
 * "features" string). The guest then returns free blocks of 2 MiB and more
 * (page_reporting_order 9) to the host within seconds, and touching one
 * again waits for the host to back it: on our VMs touching 1 GiB took
 * 0.09-3.0 s with huge pages (median 1.04 s) against 0.55-0.73 s with 4 KiB
 * pages, whose faults are served first from unreported memory.
 * REZONE_PAGE_REPORTING=0|1 says instead (a testing aid, as
 * REZONE_THP_KERNEL is). */
static bool linux_page_reporting(void)
{
	const char *force = _rz_os_getenv("REZONE_PAGE_REPORTING");
	if (force && (force[0] == '0' || force[0] == '1') && force[1] == '\0')
		return force[0] == '1';
	/* Devices are virtio0, virtio1, ...; no opendir (it allocates). */
	char path[64] = "/sys/bus/virtio/devices/virtio";
	const size_t base = strlen(path);
	for (unsigned i = 0, missing = 0; i < 64 && missing < 4; i++) {
		size_t n = base;
		if (i >= 10)
			path[n++] = (char)('0' + i / 10);
		path[n++] = (char)('0' + i % 10);
		char buf[160];
		memcpy(path + n, "/device", 8);
		if (!linux_read_file(path, buf, sizeof(buf))) {
			missing++;
			continue;
		}
		missing = 0;
		if (strncmp(buf, "0x0005", 6) != 0)
			continue;
		memcpy(path + n, "/features", 10);
		if (linux_read_file(path, buf, sizeof(buf)) && strlen(buf) > 5 && buf[5] == '1')
			return true;
	}
	return false;
}

bool _rz_vm_huge_faults_slow(void)
{
	/* 0 unknown, 1 no, 2 yes; looking twice in a race is harmless. */
	static int known;
	int k = __atomic_load_n(&known, __ATOMIC_RELAXED);
	if (k == 0) {
		int saved = errno;
		k = linux_page_reporting() ? 2 : 1;
		errno = saved;
		__atomic_store_n(&known, k, __ATOMIC_RELAXED);
	}
	return k == 2;
}

void _rz_vm_reusable(void *p, size_t size)
{
	/* Linux counts cached pages in RSS like any other; decay returns
	 * them. MADV_FREE would change nothing that shows before reclaim. */
	(void)p; (void)size;
}

void _rz_vm_reuse(void *p, size_t size)
{
	(void)p; (void)size;
}

int _rz_vm_map_meta(size_t size, void **out)
{
	/* Reserved, not committed: only what is used is opened, so neither
	 * strict overcommit nor mlockall(MCL_CURRENT) charges the rest. */
	return _rz_vm_map(size, _rz_caps.page_size, false, out);
}

bool _rz_vm_copy_shares(void *dst, const void *src, size_t size)
{
	_rz_vm_copy(dst, src, size);
	return false;
}

bool _rz_mutex_trylock(_rz_mutex_t *m)
{
	return pthread_mutex_trylock((pthread_mutex_t *)m->opaque) == 0;
}

/* Short locks (os.h), contended: spin briefly (the holder runs for a few
 * stores), then mark the word 2 ("waiters") and sleep on it until an
 * exchange takes it free. */
void _rz_short_lock_wait(_rz_short_lock_t *l)
{
	for (int i = 0; i < 64; i++) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
		if (__atomic_load_n(&l->state, __ATOMIC_RELAXED) == 0 && _rz_short_trylock(l))
			return;
	}
	int saved = errno;
	while (__atomic_exchange_n(&l->state, 2, __ATOMIC_ACQUIRE) != 0)
		syscall(SYS_futex, &l->state, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
	errno = saved;
}

void _rz_short_lock_wake(_rz_short_lock_t *l)
{
	int saved = errno;
	syscall(SYS_futex, &l->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	errno = saved;
}

bool _rz_vm_is_mapped(const void *p)
{
	unsigned char vec;
	void *page = (void *)((uintptr_t)p & ~(uintptr_t)(_rz_caps.page_size - 1));
	int saved = errno;
	bool mapped = mincore(page, 1, &vec) == 0 || errno != ENOMEM;
	errno = saved;
	return mapped;
}

char **_rz_os_environ(void)
{
	extern char **environ;
	return environ;
}

void _rz_mutex_init(_rz_mutex_t *m)
{
	/* Error-checking, so that a thread can tell it holds one already
	 * (_rz_mutex_lock_for_fork); the engine's mutexes are held for a few
	 * stores, where the owner check costs nothing measurable. */
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init((pthread_mutex_t *)m->opaque, &attr);
	pthread_mutexattr_destroy(&attr);
}

bool _rz_mutex_lock_for_fork(_rz_mutex_t *m)
{
	return pthread_mutex_lock((pthread_mutex_t *)m->opaque) == 0;
}

void _rz_mutex_lock(_rz_mutex_t *m)
{
	pthread_mutex_lock((pthread_mutex_t *)m->opaque);
}

void _rz_mutex_unlock(_rz_mutex_t *m)
{
	pthread_mutex_unlock((pthread_mutex_t *)m->opaque);
}
