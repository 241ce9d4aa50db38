#!/usr/bin/env bash
# Embed benchmark. 1) builtin provider: the PostgreSQL documentation's chunks and code examples (ingested first,
# not timed; synthetic 1,200-character chunks when the docs are not installed) embedded by one embed process:
# embeddings/s end to end (claim, load, embed, fenced write).
# 2) openai provider against the local stand-in (tests/integration/embed_server.py) with LATENCY ms added per
# request, on LIMIT synthetic 1,200-character chunks, with max_inflight 1 and then INFLIGHT: requests in flight
# overlap, so throughput approaches BATCH x in-flight / latency.
# usage: bench/embed.sh   env: LATENCY (50), BATCH (16), INFLIGHT (8), LIMIT (synthetic chunks per openai run, 6000)
. "$(dirname "$0")/lib.sh"
DOCS=${DOCS:-/usr/share/doc/postgresql-doc-15/html}
LATENCY=${LATENCY:-50}; BATCH=${BATCH:-16}; INFLIGHT=${INFLIGHT:-8}; LIMIT=${LIMIT:-6000}
bench_build
bench_pg_start "${BENCH_PORT:-54332}"
export PGDATABASE=pgkb_bench PGKB_RATELIMIT_DIR=$B_DIR
sql -d postgres -c "CREATE DATABASE pgkb_bench"
"$BIN/pgkb" migrate >/dev/null

config() { # FILE PROCESSES_INGEST PROCESSES_EMBED [embed yaml]
	cat >"$1" <<YAML
log: {level: info}
ingest: {roots: ["$DOCS"]}
workers:
  ingest: {processes: $2, concurrency: 2}
  embed: {processes: $3, concurrency: 16}
  noop: {processes: 0}
  crawl: {processes: 0}
${4:-}
YAML
}
run_sup() { # CONFIG LOG: runs until every embed job is done, prints seconds from start to the last completion
	"$BIN/pgkb-supervisor" -c "$1" 2>"$2" & local sup=$!; B_PIDS+=("$sup")
	local t0; t0=$(date +%s.%N)
	until [ "$(sql -c "SELECT count(*) FROM pgkb.jobs WHERE kind = 'embed' AND state <> 'dead'")" = 0 ]; do sleep 0.05; done
	local t1; t1=$(date +%s.%N)
	kill -TERM "$sup"; wait "$sup" || true
	awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}'
}
rows() { sql -c "SELECT (SELECT count(*) FROM archon_crawled_pages WHERE embedding_dimension IS NOT NULL) +
                        (SELECT count(*) FROM archon_code_examples WHERE embedding_dimension IS NOT NULL)"; }

# --- ingest (not timed): the embed jobs wait for the embed worker
if [ -f "$DOCS/index.html" ]; then
	config "$B_DIR/ingest.yaml" 2 0
	"$BIN/pgkb-supervisor" -c "$B_DIR/ingest.yaml" 2>"$B_DIR/ingest.log" & sup=$!; B_PIDS+=("$sup")
	"$BIN/pgkb" enqueue ingest "$DOCS" >/dev/null
	until [ "$(sql -c "SELECT count(*) FROM pgkb.jobs WHERE kind = 'ingest' AND state <> 'dead'")" = 0 ]; do sleep 0.2; done
	kill -TERM "$sup"; wait "$sup" || true
	what="PostgreSQL docs"
else # no docs: synthetic 1,200-character chunks, 40 per document
	sql -c "INSERT INTO archon_sources (source_id) VALUES ('synthetic');
	        INSERT INTO archon_crawled_pages (url, chunk_number, content, source_id)
	        SELECT 'doc' || d, c, left(repeat(md5((d * 100 + c)::text) || ' lorem ipsum dolor ', 40), 1200), 'synthetic'
	          FROM generate_series(1, 500) d, generate_series(1, 40) c;
	        INSERT INTO pgkb.documents (source_id, url, status) SELECT 'synthetic', 'doc' || d, 'chunked' FROM generate_series(1, 500) d;
	        INSERT INTO pgkb.jobs (kind, payload) SELECT 'embed', jsonb_build_object('document_id', id) FROM pgkb.documents"
	what="synthetic 1,200-char chunks"
fi
read -r nchunks avg < <(sql -F ' ' -c "SELECT count(*), round(avg(length(content))) FROM archon_crawled_pages")

# --- 1) builtin
config "$B_DIR/builtin.yaml" 0 1 "embed: {provider: builtin, batch_size: 64}"
secs=$(run_sup "$B_DIR/builtin.yaml" "$B_DIR/builtin.log")
n=$(rows)
echo "builtin ($what: $nchunks chunks, avg $avg chars, + code examples): $n embeddings in ${secs}s with 1 embed process"
awk -v n="$n" -v s="$secs" 'BEGIN{printf "  %.0f embeddings/s end to end (claim, load, embed, fenced write)\n", n/s}'

# --- 2) openai against the stand-in with added latency
"$(python3 -c "import sys; print(sys.executable)")" "$SRC/tests/integration/embed_server.py" --port-file "$B_DIR/api.port" --log "$B_DIR/api.jsonl" \
	--latency-ms "$LATENCY" >/dev/null 2>&1 & B_PIDS+=($!)
until [ -s "$B_DIR/api.port" ]; do sleep 0.1; done
API=$(cat "$B_DIR/api.port")
# synthetic documents of 150 chunks of 1,200 characters (LIMIT chunks in all), so batches are full
add_docs() { # RUN: prints the number of chunks to embed
	local ndocs=$(( (LIMIT + 149) / 150 ))
	sql -c "INSERT INTO archon_sources (source_id) VALUES ('bench') ON CONFLICT DO NOTHING;
	        INSERT INTO archon_crawled_pages (url, chunk_number, content, source_id)
	        SELECT 'bench:$1:' || d, c, left(repeat(md5(d || ':' || c || ':$1') || ' lorem ipsum dolor ', 40), 1200), 'bench'
	          FROM generate_series(1, $ndocs) d, generate_series(1, 150) c;
	        INSERT INTO pgkb.documents (source_id, url, status)
	        SELECT 'bench', 'bench:$1:' || d, 'chunked' FROM generate_series(1, $ndocs) d;
	        INSERT INTO pgkb.jobs (kind, payload) SELECT 'embed', jsonb_build_object('document_id', id)
	          FROM pgkb.documents WHERE url LIKE 'bench:$1:%'"
	echo $(( ndocs * 150 ))
}
for inflight in 1 "$INFLIGHT"; do
	todo=$(add_docs "$inflight")
	: >"$B_DIR/api.jsonl"
	config "$B_DIR/openai.yaml" 0 1 "embed: {provider: openai, model: bench, base_url: 'http://127.0.0.1:$API', batch_size: $BATCH, max_inflight: $inflight}"
	secs=$(run_sup "$B_DIR/openai.yaml" "$B_DIR/openai.log")
	read -r nreq maxin < <(python3 -c "import json; r=[json.loads(l) for l in open('$B_DIR/api.jsonl')]; print(len(r), max(x['inflight'] for x in r))")
	echo "openai stand-in (+${LATENCY} ms/request, batch_size $BATCH, max_inflight $inflight): $todo chunks in ${secs}s, $nreq requests, up to $maxin in flight at the server"
	awk -v n="$todo" -v s="$secs" -v b="$BATCH" -v i="$inflight" -v l="$LATENCY" \
		'BEGIN{printf "  %.0f embeddings/s (bound batch x in-flight / latency = %.0f/s)\n", n/s, b*i/(l/1000)}'
done
