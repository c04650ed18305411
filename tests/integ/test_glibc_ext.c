/*
 * test_glibc_ext.c - specification of glibc's malloc extensions under
 * rezone: mallopt maps M_MMAP_THRESHOLD onto the large threshold and
 * accepts the rest, mallinfo2/mallinfo/malloc_stats/malloc_info describe
 * rezone's heap, malloc_trim returns cached memory (scenarios in
 * probe_glibc.c).
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spawn.h"

TestSuite(glibc_ext, .timeout = 90);

Test(glibc_ext, mallopt_mmap_threshold_moves_the_large_threshold_and_returns_1)
{
	assert_probe_passes(NULL, "mallopt_threshold");
}

Test(glibc_ext, mallinfo2_and_mallinfo_count_a_live_10_mib_large_block)
{
	assert_probe_passes(NULL, "mallinfo_large");
}

/* Python's XML parser is the judge of well-formedness; the checks are on
 * glibc's element structure and on the live block. */
static const char xml_check[] =
	"import sys, xml.etree.ElementTree as T\n"
	"r = T.parse(sys.argv[1]).getroot()\n"
	"assert r.tag == 'malloc' and r.get('version') == '1', r.tag\n"
	"h = r.findall('heap')\n"
	"assert h and h[0].get('nr') == '0', 'no <heap nr=\"0\">'\n"
	"assert h[0].find('sizes') is not None, 'no <sizes> in the heap'\n"
	"cur = [s for s in r.findall('system') if s.get('type') == 'current']\n"
	"assert cur and int(cur[0].get('size')) >= 10 << 20, 'system current'\n"
	"m = [t for t in r.findall('total') if t.get('type') == 'mmap']\n"
	"assert m, 'no <total type=\"mmap\">'\n"
	"assert int(m[0].get('count')) >= 1, 'mmap count ' + m[0].get('count')\n"
	"assert int(m[0].get('size')) >= 10 << 20, 'mmap size ' + m[0].get('size')\n";

/* glibc's "max" is a high-water mark: it never falls when memory is
 * freed. */
Test(glibc_ext, malloc_info_max_is_a_high_water_mark)
{
	assert_probe_passes(NULL, "malloc_info_max");
}

Test(glibc_ext, malloc_info_is_glibc_shaped_xml_showing_a_live_10_mib_block)
{
	struct outcome o;
	char xml[] = "/tmp/rezone-malloc-info-XXXXXX";
	char cmd[256];
	int fd;

	if (system("python3 -c 'import xml.etree.ElementTree' 2>/dev/null") != 0)
		cr_skip_test("python3 is not installed");
	cr_assert(spawn_probe(&o, NULL, "malloc_info_xml", NULL), "%s", o.err);
	cr_assert(outcome_exited(&o, 0), "%s", outcome_describe(&o));
	fd = mkstemp(xml);
	cr_assert(fd >= 0, "mkstemp");
	cr_assert(write(fd, o.out, strlen(o.out)) == (ssize_t)strlen(o.out));
	close(fd);
	FILE *py = popen("cat > /tmp/rezone-xml-check.py", "w");
	cr_assert(py != NULL);
	fputs(xml_check, py);
	cr_assert(pclose(py) == 0);
	snprintf(cmd, sizeof(cmd), "python3 /tmp/rezone-xml-check.py %s", xml);
	cr_expect(system(cmd) == 0, "malloc_info's output fails the check:\n%s",
		  o.out);
	unlink(xml);
	outcome_release(&o);
}

Test(glibc_ext, malloc_stats_reports_the_large_block_as_an_mmap_region)
{
	struct outcome o;
	unsigned long regions = 0, bytes = 0;
	const char *line;

	cr_assert(spawn_probe(&o, NULL, "malloc_stats_large", NULL), "%s", o.err);
	cr_assert(outcome_exited(&o, 0), "%s", outcome_describe(&o));
	line = strstr(o.err, "max mmap regions =");
	cr_assert(line && sscanf(line, "max mmap regions = %lu", &regions) == 1,
		  "stderr: %s", o.err);
	line = strstr(o.err, "max mmap bytes   =");
	cr_assert(line && sscanf(line, "max mmap bytes   = %lu", &bytes) == 1,
		  "stderr: %s", o.err);
	cr_assert(regions >= 1 && bytes >= 10ul << 20, "stderr: %s", o.err);
	cr_assert(strstr(o.err, "Arena 0") != NULL, "stderr: %s", o.err);
	outcome_release(&o);
}

Test(glibc_ext, malloc_stats_writes_its_whole_report_with_a_cancellation_pending)
{
	assert_probe_passes(NULL, "malloc_stats_cancel");
}

Test(glibc_ext, malloc_trim_returns_cached_large_mappings_to_the_kernel)
{
	assert_probe_passes(NULL, "trim_large");
}

Test(glibc_ext, malloc_trim_purges_the_small_delegates_free_pages)
{
	assert_probe_passes(NULL, "trim_small");
}
