#!/usr/bin/env bash
# Search benchmark, real[] variant (no pgvector): the PostgreSQL HTML docs (postgresql-doc-15) ingested with the
# builtin embedder, then for QUERIES questions (page titles of the docs, a fixed sample):
#   - the SQL hybrid search function (hybrid_search_archon_crawled_pages_multi, k=10) beside its keyword-only
#     call (NULL embedding), p50/p95 of the time inside the server;
#   - recall@10 of the vector ranking (match_archon_crawled_pages_multi) against the exact ranking (cosine over
#     every row), for the builtin embedder (384) and for a dense stand-in (768: the deterministic SHA-256 vectors
#     of tests/integration/embed_server.py, of each chunk's content and of each query);
#   - `pgkb search` end to end (process start, embedding, query, printing), beside `pgkb search --keyword-only`;
#   - the growth with the corpus: the chunks copied under more sources (new URLs, same content and vectors) to
#     about 50k and 100k rows, the SQL function timed again at each size;
#   - the write cost of the quantised companions (schema 090's trigger): the docs' chunks inserted into a copy of
#     the table with and without the trigger.
# Every section prints the load average: the figures are only comparable within one run.
# usage: bench/search.sh   env: PGKB_BIN_DIR (a built tree; default: builds build-release), QUERIES (250),
#        SIZES (copies of the docs at each growth step: "6 13"), RECALL_QUERIES (QUERIES)
. "$(dirname "$0")/lib.sh"
DOCS=${DOCS:-/usr/share/doc/postgresql-doc-15/html}
[ -f "$DOCS/index.html" ] || { echo "no $DOCS/index.html (apt-get install postgresql-doc-15)" >&2; exit 1; }
QUERIES=${QUERIES:-250}
RECALL_QUERIES=${RECALL_QUERIES:-$QUERIES}
SIZES=${SIZES:-6 13}
bench_build
bench_pg_start "$(free_port)"
export PGDATABASE=pgkb_bench
sql -d postgres -c "CREATE DATABASE pgkb_bench"
PGOPTIONS="-c pgkb.embedding_backend=array -c client_min_messages=warning" "$BIN/pgkb" migrate >/dev/null
[ "$(sql -c "SELECT pgkb.embedding_backend()")" = array ] || { echo "expected the real[] variant" >&2; exit 1; }
cat >"$B_DIR/pgkb.yaml" <<YAML
log: {level: warn}
ingest: {roots: ["$DOCS"]}
embed: {provider: builtin}
workers:
  ingest: {processes: 2, concurrency: 2}
  noop: {processes: 0}
  crawl: {processes: 0}
  embed: {processes: 1}
YAML
PGKB=("$BIN/pgkb" -c "$B_DIR/pgkb.yaml")

# --- corpus: the docs, embedded at ingest by the builtin embedder
"$BIN/pgkb-supervisor" -c "$B_DIR/pgkb.yaml" 2>"$B_DIR/sup.log" & sup=$!; B_PIDS+=("$sup")
t0=$(date +%s.%N)
"${PGKB[@]}" enqueue ingest "$DOCS" >/dev/null
until [ "$(sql -c "SELECT count(*) > 1000 AND count(*) FILTER (WHERE status NOT IN ('ready', 'skipped', 'failed')) = 0
                     AND NOT EXISTS (SELECT 1 FROM pgkb.jobs WHERE kind IN ('ingest', 'embed') AND state <> 'dead')
                    FROM pgkb.documents")" = t ]; do sleep 0.2; done
t1=$(date +%s.%N)
kill -TERM "$sup"; wait "$sup" || true
sql -c "VACUUM ANALYZE"
echo "corpus: $(sql -c "SELECT count(*) FROM archon_crawled_pages") chunks of $(sql -c "SELECT count(*) FROM archon_page_metadata") pages," \
	"ingested and embedded in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"

# --- queries: page titles, a fixed sample; their builtin embeddings from `pgkb search --vector`
sql -c "CREATE TABLE bench_q (n serial PRIMARY KEY, q text NOT NULL, v384 real[], v768 real[])"
sql -c "SELECT DISTINCT regexp_replace(section_title, '^[A-Z0-9.]+\.\s+', '') FROM archon_page_metadata
         WHERE section_title <> '' ORDER BY 1" | awk -v n="$QUERIES" 'NR % 3 == 1 && ++k <= n' >"$B_DIR/queries"
while IFS= read -r q; do
	printf '%s\t%s\n' "${q//\\/\\\\}" "$("${PGKB[@]}" search --vector -- "$q")"
done <"$B_DIR/queries" | sql -c "COPY bench_q (q, v384) FROM STDIN"
echo "queries: $(sql -c "SELECT count(*) FROM bench_q") page titles (e.g. \"$(sed -n 5p "$B_DIR/queries")\")"

# --- dense stand-in: embed_server.py's vectors (768) of every chunk and query, written like the embed worker does
sql -c "COPY (SELECT 'c', id, md5(content) FROM archon_crawled_pages UNION ALL SELECT 'q', n, q FROM bench_q) TO STDOUT" \
	>"$B_DIR/dense_texts"
python3 - "$SRC/tests/integration" "$B_DIR/dense_texts" "$B_DIR/dense_chunks" "$B_DIR/dense_queries" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from embed_server import vector
with open(sys.argv[2]) as texts, open(sys.argv[3], "w") as c, open(sys.argv[4], "w") as q:
    for line in texts:
        kind, key, text = line.rstrip("\n").split("\t", 2)
        (c if kind == "c" else q).write("%s\t{%s}\n" % (key, ",".join(map(str, vector(text, 768)))))
PY
sql -c "CREATE TEMP TABLE d (id bigint, v real[]); COPY d FROM '$B_DIR/dense_chunks';
        UPDATE archon_crawled_pages c SET embedding_768 = d.v FROM d WHERE d.id = c.id"
sql -c "CREATE TEMP TABLE d (n int, v real[]); COPY d FROM '$B_DIR/dense_queries';
        UPDATE bench_q q SET v768 = d.v FROM d WHERE d.n = q.n"
sql -c "VACUUM ANALYZE archon_crawled_pages"

# --- timing inside the server: one session runs every query (after a warm-up pass), so connection and client
# costs stay out; each call is timed with clock_timestamp()
sql -c "CREATE TABLE bench_t (label text, ms float8)"
time_sql() { # LABEL EXPR (of r, a bench_q row): appends one timing per query to bench_t
	sql -c "DO \$\$ DECLARE r record; t timestamptz; pass int; BEGIN
		FOR pass IN 1..2 LOOP
			FOR r IN SELECT * FROM bench_q ORDER BY n LOOP
				t := clock_timestamp();
				PERFORM count(*) FROM $2;
				IF pass = 2 THEN
					INSERT INTO bench_t VALUES ('$1', extract(epoch FROM clock_timestamp() - t) * 1000);
				END IF;
			END LOOP;
		END LOOP; END \$\$"
}
report() { # LABEL...: p50/p95 of each
	local l
	for l in "$@"; do
		sql -c "SELECT rpad('$l', 44) || ' p50 ' || lpad(round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1)::text, 7) ||
		               ' ms   p95 ' || lpad(round(percentile_cont(0.95) WITHIN GROUP (ORDER BY ms)::numeric, 1)::text, 7) ||
		               ' ms   (' || count(*) || ' queries)' FROM bench_t WHERE label = '$l'"
	done
	echo "   (load $(cut -d' ' -f1-3 /proc/loadavg))"
}
size_step() { # NAME: times the hybrid function (builtin, 384), its keyword-only call and the vector ranking alone
	time_sql "$1 hybrid (builtin 384)" "hybrid_search_archon_crawled_pages_multi(r.v384, 384, r.q, 10)"
	time_sql "$1 keyword only" "hybrid_search_archon_crawled_pages_multi(NULL, 384, r.q, 10)"
	time_sql "$1 vector only (match_, 384)" "match_archon_crawled_pages_multi(r.v384, 384, 10)"
	report "$1 hybrid (builtin 384)" "$1 keyword only" "$1 vector only (match_, 384)"
}

rows=$(sql -c "SELECT count(*) FROM archon_crawled_pages")
echo "== SQL search function, $rows chunks (PostgreSQL docs)"
size_step "docs ${rows}"
time_sql "docs dense hybrid (stand-in 768)" "hybrid_search_archon_crawled_pages_multi(r.v768, 768, r.q, 10)"
report "docs dense hybrid (stand-in 768)"

# --- recall@10 of the vector ranking against the exact ranking (cosine over every row)
# The exact ranking is computed here, outside the server (the SQL exact scan reads every TOASTed vector once per
# query: over 20 minutes for 200 queries on a loaded machine); ties go to the lower id, as in SQL.
echo "== recall@10 against the exact ranking ($RECALL_QUERIES queries)"
for dim in 384 768; do
	sql -c "COPY (SELECT id, array_to_string(embedding_$dim, ' ') FROM archon_crawled_pages
	               WHERE embedding_$dim IS NOT NULL) TO STDOUT" >"$B_DIR/rows$dim"
	sql -c "COPY (SELECT n, array_to_string(v$dim, ' ') FROM bench_q WHERE n <= $RECALL_QUERIES) TO STDOUT" >"$B_DIR/q$dim"
	python3 - "$B_DIR/rows$dim" "$B_DIR/q$dim" >"$B_DIR/exact$dim" <<'PY'
import math, sys
rows = []
for line in open(sys.argv[1]):
    i, v = line.split("\t"); v = [float(x) for x in v.split()]
    rows.append((int(i), v, math.sqrt(sum(x * x for x in v)) or 1.0))
for line in open(sys.argv[2]):
    n, v = line.split("\t"); q = [(k, float(x)) for k, x in enumerate(v.split()) if float(x) != 0]
    best = sorted((-sum(x * r[1][k] for k, x in q) / r[2], r[0]) for r in rows)[:10]
    print("%s\t{%s}" % (n, ",".join(str(b[1]) for b in best)))
PY
	sql -c "CREATE TEMP TABLE e (n int, ids bigint[]); COPY e FROM '$B_DIR/exact$dim';
	        SELECT 'recall@10 ' || CASE $dim WHEN 384 THEN 'builtin (384)' ELSE 'dense stand-in (768)' END || ': ' ||
	               round(avg(hit)::numeric, 3) || ' (worst query ' || round(min(hit)::numeric, 1) || ', ' ||
	               count(*) || ' queries)'
	          FROM (SELECT cardinality(ARRAY(SELECT unnest(e.ids) INTERSECT
	                                         SELECT id FROM match_archon_crawled_pages_multi(q.v$dim, $dim, 10))) / 10.0 AS hit
	                  FROM e JOIN bench_q q USING (n)) x"
done

# --- pgkb search end to end: a process per query (start, builtin embedding, connection, query, printing)
echo "== pgkb search end to end ($QUERIES queries, -k 10, pages)"
e2e() { # LABEL ARGS...: wall ms of each run into bench_t
	local label=$1; shift
	while IFS= read -r q; do
		local a b; a=$(date +%s%N)
		"${PGKB[@]}" search "$@" -- "$q" >/dev/null
		b=$(date +%s%N)
		echo "$label	$(( (b - a) / 1000 ))e-3"
	done <"$B_DIR/queries" | sql -c "COPY bench_t FROM STDIN"
}
e2e "pgkb search" -k 10
e2e "pgkb search --keyword-only" -k 10 --keyword-only
report "pgkb search" "pgkb search --keyword-only"

# --- write cost: the chunks inserted into a copy of the table (same columns and indexes), without and with the
# trigger that computes the quantised companions (the companions left NULL so it computes them)
sql -c "CREATE TABLE bench_w (LIKE archon_crawled_pages INCLUDING DEFAULTS INCLUDING INDEXES)"
write_ms() { # the INSERT ... SELECT of every chunk with a vector, in ms
	sql -c "TRUNCATE bench_w" >/dev/null
	local a b; a=$(date +%s%N)
	sql -c "INSERT INTO bench_w (url, chunk_number, content, metadata, source_id, embedding_384, embedding_model,
	                             embedding_dimension)
	          SELECT url, chunk_number, content, metadata, source_id, embedding_384, embedding_model, embedding_dimension
	            FROM archon_crawled_pages"
	b=$(date +%s%N)
	echo $(( (b - a) / 1000000 ))
}
w0=$(write_ms)
sql -c "CREATE TRIGGER embedding_quant BEFORE INSERT ON bench_w FOR EACH ROW
        EXECUTE FUNCTION pgkb.archon_crawled_pages_embedding_quant()"
w1=$(write_ms)
echo "== write cost, $rows chunks: INSERT without the companions $w0 ms, with them (trigger) $w1 ms" \
	"($(awk -v a="$w0" -v b="$w1" -v n="$rows" 'BEGIN{printf "%.2f", (b-a)/n}') ms a row); load $(cut -d' ' -f1-3 /proc/loadavg)"
sql -c "DROP TABLE bench_w"

# --- growth: the docs' chunks copied under more sources (new URLs; content, vectors and their companions as the
# original: the trigger keeps companions a writer passes)
src=$(sql -c "SELECT source_id FROM archon_sources LIMIT 1")
have=1
for copies in $SIZES; do
	sql -c "INSERT INTO archon_sources (source_id, source_url)
	          SELECT 'copy' || n, 'https://copy' || n || '.test/' FROM generate_series($have, $copies - 1) n;
	        INSERT INTO archon_crawled_pages (url, chunk_number, content, metadata, source_id, embedding_384,
	                                          embedding_model, embedding_dimension, embedding_384_code,
	                                          embedding_384_scale, embedding_384_norm)
	          SELECT 'https://copy' || n || '.test/' || c.url, c.chunk_number, c.content, c.metadata, 'copy' || n,
	                 c.embedding_384, c.embedding_model, c.embedding_dimension, c.embedding_384_code,
	                 c.embedding_384_scale, c.embedding_384_norm
	            FROM archon_crawled_pages c, generate_series($have, $copies - 1) n WHERE c.source_id = '$src'"
	sql -c "VACUUM ANALYZE archon_crawled_pages"
	have=$copies
	rows=$(sql -c "SELECT count(*) FROM archon_crawled_pages")
	echo "== SQL search function, $rows chunks (the docs x $copies)"
	size_step "x$copies ${rows}"
done
echo "table size: $(sql -c "SELECT pg_size_pretty(pg_table_size('archon_crawled_pages'))"), stage 1's index (384):" \
	"$(sql -c "SELECT pg_size_pretty(pg_relation_size('idx_archon_crawled_pages_embedding_384_quant'))")"
