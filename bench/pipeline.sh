#!/usr/bin/env bash
# Full-pipeline benchmark: pgkb crawls the PostgreSQL HTML docs served by a private nginx on loopback, with crawl,
# ingest and embed workers running together (builtin embedder), and reports the wall time from the enqueue of the
# crawl until every document of the crawl is in a final state (ready, skipped, failed, gone); then per-stage counts,
# the status histogram, when each stage ended (from the database's timestamps) and the CPU each side used.
# Each run uses a fresh database on one server; the median of RUNS is printed last.
# Usage: bench/pipeline.sh [DOCS_DIR]
#   env: PGKB_BIN_DIR (a built tree; default: builds build-release), RUNS (3),
#        CRAWL_PROCESSES (1), CRAWL_CONCURRENCY (64), INGEST_PROCESSES (2), INGEST_CONCURRENCY (8),
#        EMBED_PROCESSES (1), EMBED_CONCURRENCY (4), PIPELINE_YAML (extra configuration lines, appended),
#        TIMEOUT (seconds one run may take, 300),
#        BENCH_PG_OPTS (extra server options, see lib.sh), PGSS=1 (load pg_stat_statements and print the top
#        statements of the last run by total time)
. "$(dirname "$0")/lib.sh"
DOCS=${1:-/usr/share/doc/postgresql-doc-15/html}
[ -f "$DOCS/index.html" ] || { echo "no $DOCS/index.html (apt-get install postgresql-doc-15)" >&2; exit 1; }
RUNS=${RUNS:-3}
CRAWL_PROCESSES=${CRAWL_PROCESSES:-1} CRAWL_CONCURRENCY=${CRAWL_CONCURRENCY:-64}
INGEST_PROCESSES=${INGEST_PROCESSES:-2} INGEST_CONCURRENCY=${INGEST_CONCURRENCY:-8}
EMBED_PROCESSES=${EMBED_PROCESSES:-1} EMBED_CONCURRENCY=${EMBED_CONCURRENCY:-4}

[ "${PGSS:-0}" = 1 ] && BENCH_PG_OPTS="${BENCH_PG_OPTS:-} -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
bench_build
bench_pg_start "$(free_port)"
export PGDATABASE=pgkb_bench

bench_nginx "$DOCS"

cat >"$B_DIR/pgkb.yaml" <<EOF
log: {level: warn}
workers:
  crawl: {processes: $CRAWL_PROCESSES, concurrency: $CRAWL_CONCURRENCY}
  ingest: {processes: $INGEST_PROCESSES, concurrency: $INGEST_CONCURRENCY}
  embed: {processes: $EMBED_PROCESSES, concurrency: $EMBED_CONCURRENCY}
  noop: {processes: 0}
crawl:
  allow_private_addresses: true
  host_concurrency: 16
  host_delay: 0ms
embed:
  provider: builtin
${PIPELINE_YAML:-}
EOF

# CPU seconds (user + system) of the server's processes that have exited (the backends of a finished run) and
# of this shell's waited-for children (the supervisor and its workers).
PM=$(head -1 "$B_DIR/pg/postmaster.pid")
pg_cpu() { awk '{printf "%.2f", ($16 + $17) / 100}' "/proc/$PM/stat"; }
our_cpu() { awk '{printf "%.2f", ($16 + $17) / 100}' "/proc/$$/stat"; }
nginx_cpu() { local t=0 p; for p in $(pgrep -P "$NGINX") "$NGINX"; do t=$(awk -v t="$t" '{printf "%.2f", t + ($14 + $15) / 100}' "/proc/$p/stat"); done; echo "$t"; }
workers=$((CRAWL_PROCESSES + INGEST_PROCESSES + EMBED_PROCESSES))

one_run() { # RUN: prints what it measured, appends the wall seconds to $B_DIR/times
	PGOPTIONS="-c client_min_messages=warning" sql -d postgres -c "DROP DATABASE IF EXISTS pgkb_bench" -c "CREATE DATABASE pgkb_bench"
	"$BIN/pgkb" migrate >/dev/null
	sql -c "CHECKPOINT"
	"$BIN/pgkb-supervisor" -c "$B_DIR/pgkb.yaml" >"$B_DIR/sup.$1.log" 2>&1 & local sup=$!; B_PIDS+=("$sup")
	until [ "$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'")" -ge "$workers" ]; do sleep 0.05; done
	[ "${PGSS:-0}" = 1 ] && sql -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()" >/dev/null
	local p0 c0 n0; p0=$(pg_cpu); c0=$(our_cpu); n0=$(nginx_cpu)
	local t0; t0=$(date +%s.%N)
	local job; job=$("$BIN/pgkb" enqueue crawl "$BASE/index.html" --depth 100 --max-pages 100000)
	# one session polls (a psql per poll would cost the pipeline a CPU share)
	sql -c "DO \$\$ DECLARE t0 timestamptz := clock_timestamp(); BEGIN
		WHILE NOT EXISTS (SELECT 1 FROM pgkb.crawls c WHERE c.job_id = $job AND c.status <> 'running'
		                     AND NOT EXISTS (SELECT 1 FROM pgkb.documents d WHERE d.crawl_id = c.id
		                                        AND d.status NOT IN ('ready', 'skipped', 'failed', 'gone')))
		LOOP
			IF clock_timestamp() > t0 + interval '${TIMEOUT:-300} seconds' THEN
				RAISE WARNING 'pipeline run $1 timed out after ${TIMEOUT:-300} s';
				EXIT;
			END IF;
			PERFORM pg_sleep(0.01);
		END LOOP;
	END \$\$"
	local t1; t1=$(date +%s.%N)
	kill -TERM "$sup"; wait "$sup" || true
	sleep 0.2 # the backends of the workers' connections exit
	local secs; secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
	sql -F' ' -c "SELECT 'run $1: ' || $secs || ' s: ' || count(*) || ' documents, ' ||
	                     count(*) FILTER (WHERE d.fetched_at IS NOT NULL) || ' fetched, ' ||
	                     (SELECT count(*) FROM archon_page_metadata) || ' pages -> ' ||
	                     (SELECT count(*) FROM archon_crawled_pages) || ' chunks + ' ||
	                     (SELECT count(*) FROM archon_code_examples) || ' code examples, ' ||
	                     (SELECT count(*) FROM archon_crawled_pages WHERE embedding_dimension IS NOT NULL) +
	                     (SELECT count(*) FROM archon_code_examples WHERE embedding_dimension IS NOT NULL) || ' embedded'
	                FROM pgkb.documents d"
	sql -c "SELECT '  status: ' || string_agg(status || ' ' || n, ', ' ORDER BY status)
	          FROM (SELECT status, count(*) n FROM pgkb.documents GROUP BY 1) x"
	sql -c "SELECT '  stages (s after the crawl started): fetch done ' ||
	               round(extract(epoch FROM c.finished_at - c.started_at)::numeric, 2) || ', last document ready ' ||
	               round(extract(epoch FROM (SELECT max(ready_at) FROM pgkb.documents) - c.started_at)::numeric, 2) ||
	               '; embed jobs run: ' || (SELECT count(*) FROM pgkb.job_history WHERE kind = 'embed')
	          FROM pgkb.crawls c WHERE c.job_id = $job"
	echo "  cpu: postgres $(awk -v a="$p0" -v b="$(pg_cpu)" 'BEGIN{printf "%.2f", b-a}') s, pgkb $(awk -v a="$c0" -v b="$(our_cpu)" 'BEGIN{printf "%.2f", b-a}') s, nginx $(awk -v a="$n0" -v b="$(nginx_cpu)" 'BEGIN{printf "%.2f", b-a}') s"
	grep -E "error|warn" "$B_DIR/sup.$1.log" | head -3 || true
	echo "$secs" >>"$B_DIR/times"
}

printf 'site: %s (%s), %s HTML files; crawl %s x %s, ingest %s x %s, embed %s x %s (builtin)\n' "$DOCS" "$BASE" \
	"$(find "$DOCS" -maxdepth 1 -name '*.html' | wc -l)" "$CRAWL_PROCESSES" "$CRAWL_CONCURRENCY" \
	"$INGEST_PROCESSES" "$INGEST_CONCURRENCY" "$EMBED_PROCESSES" "$EMBED_CONCURRENCY"
: >"$B_DIR/times"
for run in $(seq 1 "$RUNS"); do one_run "$run"; done
if [ "${PGSS:-0}" = 1 ]; then
	echo "top statements of run $RUNS (calls | total ms | ms per call | rows | statement):"
	sql -F' | ' -c "SELECT calls, round(total_exec_time::numeric), round((total_exec_time / calls)::numeric, 3), rows,
	                       left(regexp_replace(query, '\s+', ' ', 'g'), 100)
	                  FROM pg_stat_statements WHERE query NOT LIKE 'DO %' AND query NOT LIKE '%pg_sleep%'
	                 ORDER BY total_exec_time DESC LIMIT 15"
fi
echo "pipeline wall time, enqueue to every document final: median $(median <"$B_DIR/times") s of $RUNS ($(sort -g "$B_DIR/times" | tr '\n' ' ' | sed 's/ $//'))"
