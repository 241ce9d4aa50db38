#!/usr/bin/env bash
# Source deletion benchmark: a source of 100,000 chunks (synthetic rows inserted directly: 1,000 documents and
# pages of 100 chunks each, and 10,000 code examples) is deleted with `pgkb source delete` while an ingest worker
# ingests another source. Prints how long the delete took, and the longest time any other session waited on a
# lock meanwhile (the server logs every lock wait longer than deadlock_timeout = 1 ms: log_lock_waits), and the
# other source's ingest rate before and during the delete.
# Usage: bench/source_delete.sh   env: PGKB_BIN_DIR (a built tree; default: builds build-release),
#        DELETE_CHUNKS (100000), DELETE_BATCH (5000), LIVE_DOCS (3000: inline documents of the other source)
. "$(dirname "$0")/lib.sh"
CHUNKS=${DELETE_CHUNKS:-100000}
BATCH=${DELETE_BATCH:-5000}
LIVE=${LIVE_DOCS:-3000}
DOCS=$(((CHUNKS + 99) / 100))

bench_build
BENCH_PG_OPTS="${BENCH_PG_OPTS:-} -c log_lock_waits=on -c deadlock_timeout=1ms -c log_line_prefix='%m [%p] %a '"
bench_pg_start "$(free_port)"
export PGDATABASE=pgkb_bench
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres "$PGDATABASE"
"$BIN/pgkb" migrate >/dev/null

echo "building source big: $DOCS documents, $CHUNKS chunks, $((DOCS * 10)) code examples"
sql <<EOF
INSERT INTO archon_sources (source_id, source_url, title) VALUES ('big', 'https://big.example/', 'Big');
INSERT INTO pgkb.documents (source_id, url, kind, status, chunk_count)
SELECT 'big', 'https://big.example/p' || d, 'page', 'ready', 100 FROM generate_series(1, $DOCS) d;
INSERT INTO archon_page_metadata (source_id, url, full_content, word_count, char_count, chunk_count)
SELECT 'big', 'https://big.example/p' || d, repeat('word ', 200), 200, 1000, 100 FROM generate_series(1, $DOCS) d;
INSERT INTO archon_crawled_pages (url, chunk_number, content, source_id, content_hash)
SELECT 'https://big.example/p' || (n / 100 + 1), n % 100,
       'Chunk ' || n || ' of the big source: ' || md5(n::text) || ' about tables, indexes and vacuum.', 'big', md5(n::text)
  FROM generate_series(0, $CHUNKS - 1) n;
INSERT INTO archon_code_examples (url, chunk_number, content, summary, source_id)
SELECT 'https://big.example/p' || (n / 10 + 1), n % 10, 'SELECT ' || n || ' FROM t;', '', 'big'
  FROM generate_series(0, $DOCS * 10 - 1) n;
VACUUM ANALYZE;
EOF

cat >"$B_DIR/pgkb.yaml" <<EOF
log: {level: warn}
workers:
  ingest: {processes: 1, concurrency: 4}
  crawl: {processes: 0}
  embed: {processes: 0}
  noop: {processes: 0}
EOF
"$BIN/pgkb-supervisor" -c "$B_DIR/pgkb.yaml" >"$B_DIR/sup.log" 2>&1 &
B_PIDS+=("$!")
sleep 1
sql -c "INSERT INTO pgkb.jobs (kind, payload)
        SELECT 'ingest', jsonb_build_object('url', 'live://n' || i, 'source_id', 'live', 'title', 'Live ' || i,
               'content', repeat('Live note ' || i || ' on replication, locks and checkpoints. ', 60))
          FROM generate_series(1, $LIVE) i"
live_done() { sql -c "SELECT count(*) FROM pgkb.documents WHERE source_id = 'live' AND status IN ('chunked', 'ready')"; }
now() { date +%s.%N; }

# the other source's ingest rate for 3 s before the delete
t0=$(now); n0=$(live_done); sleep 3; t1=$(now); n1=$(live_done)
[ "$n1" -lt "$LIVE" ] || { echo "the other ingest finished before the delete: raise LIVE_DOCS" >&2; exit 1; }
log_from=$(wc -l <"$B_DIR/server.log")

"$BIN/pgkb" source delete big --batch "$BATCH" >"$B_DIR/delete.log"
t2=$(now); n2=$(live_done)
tail -n 1 "$B_DIR/delete.log"
[ "$(sql -c "SELECT count(*) FROM archon_sources WHERE source_id = 'big'")" = 0 ] || { echo "source big is still there" >&2; exit 1; }

# lock waits of sessions other than the CLI's, from the server log since the delete started: a wait is logged
# as "acquired ... after N ms" once it ends (or only as "still waiting" if it never ended)
waits=$(tail -n +"$((log_from + 1))" "$B_DIR/server.log" | grep -v ' pgkb-cli ' |
	sed -n 's/.*acquired .* after \([0-9.]*\) ms.*/\1/p' | sort -g || true)
stuck=$(tail -n +"$((log_from + 1))" "$B_DIR/server.log" | grep -v ' pgkb-cli ' | grep -c 'still waiting' || true)
ended=$(printf '%s\n' "$waits" | grep -c . || true)

echo "server: log_lock_waits $(sql -c "SHOW log_lock_waits"), deadlock_timeout $(sql -c "SHOW deadlock_timeout")"
echo "delete of $CHUNKS chunks in batches of $BATCH: $(awk -v a="$t1" -v b="$t2" 'BEGIN {printf "%.2f", b - a}') s"
echo "other sessions' lock waits over 1 ms during the delete: $ended ended, longest $(printf '%s\n' "$waits" | tail -n 1 | sed 's/^$/0/') ms;" \
     "$((stuck - ended < 0 ? 0 : stuck - ended)) never ended"
awk -v a="$n0" -v b="$n1" -v c="$n2" -v t0="$t0" -v t1="$t1" -v t2="$t2" 'BEGIN {
	printf "other source ingest: %.0f documents/s before the delete, %.0f documents/s during it\n", (b - a) / (t1 - t0), (c - b) / (t2 - t1) }'
for i in $(seq 1 600); do [ "$(live_done)" -ge "$LIVE" ] && break; sleep 0.5; done
echo "other source: $(live_done) of $LIVE documents ingested; failed jobs: $(sql -c "SELECT count(*) FROM pgkb.jobs WHERE last_error IS NOT NULL")"
