-- build.sql - real-program workload for sqlite3: build a database in
-- memory (a table of @ROWS@ rows, an index), query it, and build one big
-- text value with group_concat, which sqlite grows by realloc. Mixed work:
-- many small allocations for pages and rows, a few large growing ones.
-- The runner replaces @ROWS@; the output is checksummed.
PRAGMA cache_size = -262144;
CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @ROWS@)
INSERT INTO t SELECT i, printf('%08x', (i * 2654435761) % 4294967296),
	printf('row %d %s', i, substr(hex(i * i), 1, 1 + i % 40)) FROM n;
CREATE INDEX t_k ON t(k);
SELECT count(*), sum(length(v)), min(k), max(k) FROM t;
SELECT substr(k, 1, 2) AS p, count(*), sum(length(v)) FROM t GROUP BY p ORDER BY p LIMIT 5;
SELECT length(g), substr(g, 1000, 40) FROM (SELECT group_concat(v, ',') AS g FROM (SELECT v FROM t ORDER BY k));
