#!/usr/bin/env bash
# Whole jobs under valgrind: the supervisor and its workers (forked, so valgrind follows them) run succeeding,
# failing, malformed, result-writing and sleeping jobs, a crawl of a small site on a private nginx (crawl,
# fetch, ingest and embed jobs, a 404, a malformed fetch payload), then drain; no leak or memory error in any
# process.
. "$(dirname "$0")/lib.sh"
if [ -n "${PGKB_NO_VALGRIND:-}" ] || ! command -v valgrind >/dev/null; then echo "valgrind run skipped (sanitizer build)"; echo "0 passed, 0 failed"; exit 0; fi
pg_start
migrate
mkdir -p "$T_DIR/docs"
cp /usr/share/doc/postgresql-doc-15/html/sql-createindex.html /usr/share/doc/postgresql-doc-15/html/tutorial-select.html "$T_DIR/docs/" 2>/dev/null
printf '# Notes\n\nSome text.\n\n```sh\necho hello world from a code block that is long enough\n```\n' >"$T_DIR/docs/notes.md"
head -c 3000 /dev/urandom >"$T_DIR/docs/binary.html"
mkdir -p "$T_DIR/site"
cp "$T_DIR/docs/sql-createindex.html" "$T_DIR/docs/tutorial-select.html" "$T_DIR/site/"
printf '<html><head><title>Home</title></head><body><h1>Home</h1><p>Start here.</p>
<a href="sql-createindex.html">create index</a> <a href="tutorial-select.html">select</a> <a href="missing.html">gone</a>
</body></html>\n' >"$T_DIR/site/index.html"
printf 'User-agent: *\nAllow: /\n' >"$T_DIR/site/robots.txt"
chmod -R a+rX "$T_DIR/site"
for attempt in 1 2 3 4 5; do
	PORT=$(free_port)
	nginx_serve "$T_DIR/site" "$PORT" && break
done
LEASE=10s write_config "$T_DIR/pgkb.yaml" "workers:
  noop: {processes: 1, concurrency: 8}
  ingest: {processes: 1, concurrency: 2}
  crawl: {processes: 1, concurrency: 8}
  embed: {processes: 1, concurrency: 2}
ingest:
  roots: [\"$T_DIR/docs\"]
  code_min_length: 20
crawl:
  allow_networks: [\"127.0.0.0/8\"]
  host_delay: 0ms"
SUP_WRAPPER="valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible --log-file=$T_DIR/vg.%p.txt" \
	sup_start "$T_DIR/pgkb.yaml" sup
wait_for "SELECT count(*) = 4 FROM pg_stat_activity WHERE application_name IN ('pgkb-noop', 'pgkb-ingest', 'pgkb-crawl', 'pgkb-embed') AND query LIKE 'LISTEN%'" 60 "workers up under valgrind"
sql "INSERT INTO pgkb.jobs(kind, payload, max_attempts) VALUES
	('noop', '{}', 5), ('noop', '{\"log\": true}', 5), ('noop', '{\"sleep_ms\": 200, \"log\": true}', 5),
	('noop', '{\"fail\": \"nope\"}', 1), ('noop', '{\"sleep_ms\": -1}', 5), ('noop', '{\"log\": \"yes\"}', 5)"
sql "INSERT INTO pgkb.jobs(kind, payload) SELECT 'noop', '{\"log\": true}' FROM generate_series(1, 200)"
sql "INSERT INTO pgkb.jobs(kind, payload) VALUES ('ingest', '{\"path\": \"$T_DIR/docs\"}'), ('ingest', '{\"path\": \"/etc/passwd\"}'),
	('ingest', '{\"content\": \"inline text\", \"url\": \"note://1\"}'), ('ingest', '{\"document_id\": 12345}')"
sql "INSERT INTO pgkb.jobs(kind, payload) VALUES ('crawl', '{\"url\": \"http://127.0.0.1:$PORT/\", \"source_id\": \"site\", \"max_depth\": 1}'),
	('fetch', '{\"crawl_id\": \"x\"}')"
wait_for "SELECT count(*) = 0 FROM pgkb.jobs WHERE state <> 'dead'" 300 "jobs finished under valgrind"
assert_eq "$(sql "SELECT string_agg(status, ',' ORDER BY url) FROM pgkb.documents WHERE source_id <> 'site'")" \
	"failed,ready,ready,ready,ready" "whole ingest and embed jobs ran under valgrind"
assert_eq "$(sql "SELECT string_agg(status, ',' ORDER BY url) FROM pgkb.documents WHERE source_id = 'site'")" \
	"ready,gone,ready,ready" "a whole crawl (fetch, ingest, embed, a 404) ran under valgrind"
assert_eq "$(sql "SELECT status FROM pgkb.crawls")" "done" "the crawl ended"
assert_eq "$(sql 'SELECT count(*) FROM pgkb.noop_log')" "202" "result-writing jobs ran"
assert_eq "$(sql "SELECT count(*) FROM pgkb.jobs WHERE state = 'dead'")" "6" "bad jobs dead (the malformed fetch too)"
kill -TERM "$SUP_PID"; wait "$SUP_PID"
n=$(ls "$T_DIR"/vg.*.txt | wc -l)
assert_ge "$n" 5 "valgrind logs from the supervisor and the four workers"
for f in "$T_DIR"/vg.*.txt; do
	errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$f" | tail -1)
	if [ "$errs" = 0 ]; then pass "valgrind: no errors or leaks in $(basename "$f")"; else fail "valgrind: $errs errors in $(basename "$f")"; cat "$f" | head -80; fi
done
finish
