#!/usr/bin/env bash
# Fetch-stage crawl benchmark: pgkb crawls the PostgreSQL HTML docs served by a private nginx on loopback
# (politeness relaxed: host_concurrency 32, host_delay 0) and reports pages/s beside `wget --recursive
# --no-parent` of the same site in the same run. Usage: bench/crawl.sh [DOCS_DIR]
#   env: PGKB_BIN_DIR (a built tree; default: builds build-release), CRAWL_PROCESSES (1), CRAWL_CONCURRENCY (256),
#        CRAWL_HOST_CONCURRENCY (32), CRAWL_POOL_SIZE (4, the default), CRAWL_NO_WARMUP (no warm-up crawl first),
#        CRAWL_ROUNDS (5), CRAWL_NO_CEILING (skip the pgbench ceiling)
. "$(dirname "$0")/lib.sh"
DOCS=${1:-/usr/share/doc/postgresql-doc-15/html}
[ -f "$DOCS/index.html" ] || { echo "no $DOCS/index.html (apt-get install postgresql-doc-15)" >&2; exit 1; }

bench_build
bench_pg_start "$(free_port)"
bench_nginx "$DOCS"

cat >"$B_DIR/pgkb.yaml" <<EOF
log: {level: warn}
database: {pool_size: ${CRAWL_POOL_SIZE:-4}}
workers:
  crawl: {processes: ${CRAWL_PROCESSES:-1}, concurrency: ${CRAWL_CONCURRENCY:-256}}
  ingest: {processes: 0}
  embed: {processes: 0}
crawl:
  allow_private_addresses: true
  host_concurrency: ${CRAWL_HOST_CONCURRENCY:-32}
  host_delay: 0ms
EOF

export PGDATABASE=pgkb_bench
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres "$PGDATABASE"
"$BIN/pgkb" migrate >/dev/null
"$BIN/pgkb-supervisor" -c "$B_DIR/pgkb.yaml" >"$B_DIR/sup.log" 2>&1 &
SUP=$!
B_PIDS+=("$SUP")
sleep 1
kill -0 "$SUP" 2>/dev/null || { echo "pgkb-supervisor exited: $(tail -n 3 "$B_DIR/sup.log")" >&2; exit 1; }

# wait_crawl JOB: until the crawl started by JOB is no longer running. One session polls (a psql per poll
# would cost the crawl a CPU share).
wait_crawl() {
	PGOPTIONS="-c statement_timeout=600s" sql -c "DO \$\$ BEGIN
		WHILE coalesce((SELECT status FROM pgkb.crawls WHERE job_id = $1), 'running') = 'running' LOOP PERFORM pg_sleep(0.01); END LOOP;
	END \$\$" || { echo "the crawl did not finish: $(tail -n 3 "$B_DIR/sup.log")" >&2; exit 1; }
}

# crawl_sql SOURCE_ID: enqueue a crawl of the docs with a plain INSERT, as an application does on a connection
# it already has; prints the job id.
crawl_sql() {
	sql -c "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', jsonb_build_object('url', '$BASE/index.html',
		'source_id', '$1', 'max_depth', 100, 'max_pages', 100000)) RETURNING id"
}

# The service is warm when a measured crawl arrives, as a running deployment is: the same pages were crawled
# first under another source_id (CRAWL_NO_WARMUP=1 skips this), so a measured crawl finds none of its URLs in
# the database, but the worker's pooled sessions and the server have done their one-time work (faulting in
# shared memory and WAL buffers was about a tenth of the server's CPU in perf on a cold start).
if [ -z "${CRAWL_NO_WARMUP:-}" ]; then
	wait_crawl "$(crawl_sql bench-warmup)"
fi

# Rounds, each a pgkb crawl under a new source_id then a wget of the same site: wget's time on this machine
# swings between runs (0.5 to 0.9 s for the same pages), so one run of each says little; the medians compare.
printf 'site: %s (%s) served by nginx on loopback\n' "$DOCS" "$BASE"
printf 'pgkb: %s process(es) x %s jobs, pool %s, host_concurrency %s, host_delay 0; the fetch stage by the database clock\n' \
	"${CRAWL_PROCESSES:-1}" "${CRAWL_CONCURRENCY:-256}" "${CRAWL_POOL_SIZE:-4}" "${CRAWL_HOST_CONCURRENCY:-32}"
: >"$B_DIR/pgkb.s"; : >"$B_DIR/wget.s"
for round in $(seq 1 "${CRAWL_ROUNDS:-5}"); do
	job=$(crawl_sql "bench-$round")
	wait_crawl "$job"
	kill -0 "$SUP" 2>/dev/null || { echo "pgkb-supervisor exited: $(tail -n 3 "$B_DIR/sup.log")" >&2; exit 1; }
	crawl="(SELECT id FROM pgkb.crawls WHERE job_id = $job)"
	read -r fetched all mb <<<"$(sql -F' ' -c "SELECT count(*) FILTER (WHERE status = 'fetched'), count(*),
		round(sum(length(body)) / 1048576.0, 1) FROM pgkb.documents WHERE crawl_id = $crawl")"
	# the fetch stage: from the crawl job's INSERT to the crawl marked done
	pgkb_s=$(sql -c "SELECT extract(epoch FROM c.finished_at - h.created_at) FROM pgkb.crawls c
		JOIN pgkb.job_history h ON h.id = c.job_id WHERE c.job_id = $job")
	echo "$pgkb_s" >>"$B_DIR/pgkb.s"

	rm -rf "$B_DIR/wget"; mkdir -p "$B_DIR/wget"
	w0=$(date +%s.%N)
	(cd "$B_DIR/wget" && wget --recursive --no-parent --level=inf -q "$BASE/index.html" || true)
	w1=$(date +%s.%N)
	wget_pages=$(find "$B_DIR/wget" -name '*.html' | wc -l)
	wget_s=$(echo "$w1 - $w0" | bc -l)
	echo "$wget_s" >>"$B_DIR/wget.s"
	printf 'round %d: pgkb %d documents, %d fetched (%s MB) in %.2f s = %.0f pages/s; wget %d pages in %.2f s = %.0f pages/s\n' \
		"$round" "$all" "$fetched" "$mb" "$pgkb_s" "$(echo "$fetched / $pgkb_s" | bc -l)" \
		"$wget_pages" "$wget_s" "$(echo "$wget_pages / $wget_s" | bc -l)"
done
pgkb_m=$(median <"$B_DIR/pgkb.s"); wget_m=$(median <"$B_DIR/wget.s")
printf 'median: pgkb %.2f s = %.0f pages/s; wget %.2f s = %.0f pages/s; pgkb / wget: %.2f (pages/s)\n' \
	"$pgkb_m" "$(echo "$fetched / $pgkb_m" | bc -l)" "$wget_m" "$(echo "$wget_pages / $wget_m" | bc -l)" \
	"$(echo "$wget_m / $pgkb_m" | bc -l)"
grep -E "error|warn" "$B_DIR/sup.log" | head -5 || true

# The database's share alone: each page's result written by pgbench (4 clients, no HTTP, no parsing, no job
# claim or completion): load the document and its crawl, store a real page body, enqueue its ingest job,
# settle the crawl. A fetch stage cannot beat this on the same server and cores.
if [ -z "${CRAWL_NO_CEILING:-}" ] && command -v pgbench >/dev/null; then
	# a running crawl with pages still queued, for the settle step to count as it does mid-crawl
	settle=$(sql -c "INSERT INTO pgkb.crawls (source_id, root_url) SELECT source_id, root_url || '#ceiling' FROM pgkb.crawls LIMIT 1 RETURNING id")
	sql -c "INSERT INTO pgkb.documents (source_id, url, crawl_id) SELECT c.source_id, 'ceiling:' || g, c.id FROM pgkb.crawls c, generate_series(1, 200) g WHERE c.id = $settle"
	cat >"$B_DIR/page.sql" <<'EOF'
\set d random(1, 1169)
\set b random(1, 1169)
BEGIN;
SET LOCAL synchronous_commit = off;
SELECT d.id, d.etag, d.status, c.options FROM pgkb.crawls c JOIN pgkb.documents d ON d.source_id = c.source_id AND d.crawl_id = c.id WHERE c.id = 1 AND d.id = (:d)::bigint;
UPDATE pgkb.documents SET status = 'fetched', body = (SELECT body FROM pgkb.documents WHERE id = (:b)::bigint), content_type = 'text/html', http_status = 200, content_hash = md5((:d)::text), fetched_at = now() WHERE id = (:d)::bigint;
INSERT INTO pgkb.jobs (kind, payload) VALUES ('ingest', jsonb_build_object('document_id', (:d)::bigint));
SELECT pgkb.crawl_settle(:settle);
COMMIT;
EOF
	tps=$(pgbench -n -c 4 -j 2 -T 5 -M prepared -D settle="$settle" -f "$B_DIR/page.sql" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
	printf 'ceiling: the per-page writes alone in SQL (pgbench, 4 clients): %.0f pages/s\n' "${tps:-0}"
fi
