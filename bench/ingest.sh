#!/usr/bin/env bash
# Ingest benchmark: the whole PostgreSQL HTML documentation (postgresql-doc-15) from disk through the
# supervisor's ingest workers (documents/s, chunks/s, MB/s), then the write ceiling: COPY of the same resulting
# rows into empty copies of the tables (same indexes). usage: bench/ingest.sh   env: PROCESSES (2)
. "$(dirname "$0")/lib.sh"
DOCS=${DOCS:-/usr/share/doc/postgresql-doc-15/html}
PROCESSES=${PROCESSES:-2}
bench_build
bench_pg_start "${BENCH_PORT:-54331}"
export PGDATABASE=pgkb_bench
sql -d postgres -c "CREATE DATABASE pgkb_bench"
"$BIN/pgkb" migrate >/dev/null
files=$(find "$DOCS" -maxdepth 1 -name '*.html' | wc -l)
mb=$(du -sbL "$DOCS" | awk '{printf "%.1f", $1/1e6}')
cat >"$B_DIR/pgkb.yaml" <<YAML
log: {level: warn}
ingest: {roots: ["$DOCS"]}
workers:
  ingest: {processes: $PROCESSES, concurrency: 2}
  noop: {processes: 0}
  crawl: {processes: 0}
  embed: {processes: 0}
YAML
"$BIN/pgkb-supervisor" -c "$B_DIR/pgkb.yaml" 2>"$B_DIR/sup.log" & sup=$!; B_PIDS+=("$sup")
until [ "$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'")" -ge "$PROCESSES" ]; do sleep 0.05; done
t0=$(date +%s.%N)
"$BIN/pgkb" enqueue ingest "$DOCS" >/dev/null
until [ "$(sql -c "SELECT count(*) FROM pgkb.documents WHERE status <> 'queued'")" -ge "$files" ] &&
      [ "$(sql -c "SELECT count(*) FROM pgkb.jobs WHERE kind = 'ingest' AND state <> 'dead'")" = 0 ]; do sleep 0.1; done
t1=$(date +%s.%N)
kill -TERM "$sup"; wait "$sup" || true
read -r docs chunks codes < <(sql -F ' ' -c "SELECT (SELECT count(*) FROM pgkb.documents), (SELECT count(*) FROM archon_crawled_pages), (SELECT count(*) FROM archon_code_examples)")
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
echo "ingest: $docs documents ($files files, $mb MB) -> $chunks chunks, $codes code examples in ${secs}s with $PROCESSES ingest processes"
awk -v d="$docs" -v c="$chunks" -v m="$mb" -v s="$secs" 'BEGIN{printf "  %.0f documents/s, %.0f chunks/s, %.2f MB/s\n", d/s, c/s, m/s}'
sql -c "SELECT '  document status: ' || string_agg(status || ' ' || n, ', ') FROM (SELECT status, count(*) n FROM pgkb.documents GROUP BY 1 ORDER BY 1) x"

# The write ceiling: the same rows COPYed into empty tables with the same columns, constraints and indexes.
cols() { sql -c "SELECT string_agg(quote_ident(column_name), ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '$1' AND is_generated = 'NEVER'"; }
TABLES="archon_page_metadata archon_crawled_pages archon_code_examples"
for t in $TABLES; do
	sql -c "CREATE TABLE copy_$t (LIKE $t INCLUDING ALL)"
	psql -qAtX -v ON_ERROR_STOP=1 -c "\\copy (SELECT $(cols "$t") FROM $t) TO '$B_DIR/$t.copy'"
done
c0=$(date +%s.%N)
for t in $TABLES; do
	psql -qAtX -v ON_ERROR_STOP=1 -c "\\copy copy_$t ($(cols "$t")) FROM '$B_DIR/$t.copy'"
done
c1=$(date +%s.%N)
copy=$(awk -v a="$c0" -v b="$c1" 'BEGIN{printf "%.2f", b-a}')
echo "COPY of the same rows into empty copies of the tables: ${copy}s ($(sql -c "SELECT count(*) FROM copy_archon_crawled_pages") chunks)"
awk -v s="$secs" -v c="$copy" 'BEGIN{printf "end-to-end ingest / COPY ceiling: %.2fx (target: within 3x)\n", s/c}'
