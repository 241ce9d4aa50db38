#!/usr/bin/env bash
# The real[] variant's quantised search (schema 090): the companions (code, scale, norm) are filled in the
# same write as the vector (by the ingest worker's write with builtin vectors, and by the embed worker against the
# remote stand-in), the three-stage search returns the exact path's top results on a fixed set of vectors, filters
# hold, the scope rules (pgkb.search_model; a warning when no vector is in scope) hold in SQL and in pgkb search,
# and the exact path is still there once the companions are dropped.
. "$(dirname "$0")/lib.sh"
pg_start
migrate
assert_eq "$(sql "SELECT pgkb.embedding_backend()")" "array" "array variant (no pgvector here)"
assert_eq "$(sql "SELECT count(*) FROM pg_attribute WHERE attrelid IN ('archon_crawled_pages'::regclass,
                  'archon_code_examples'::regclass) AND attname ~ '^embedding_[0-9]+_(code|scale|norm)$'")" "30" \
	"three companions per table and dimension"
assert_eq "$(sql "SELECT count(*) FROM pg_trigger WHERE tgname = 'embedding_quant'")" "2" "their trigger on both tables"

# --- the quantisation itself: levels -3..3 with t = mean |x| of the non-zeros (0.9 here): 0.5 -> 1, -0.1 -> -1,
# 0 -> 0, 2 -> 3, -1 -> -2; six thermometer planes of level + 3 > k
assert_eq "$(sql "SELECT code::text || ' ' || round(norm::numeric, 4) || ' ' || round((scale * norm)::numeric, 4)
                  FROM pgkb.embedding_quantize('{0.5,-0.1,0,2,-1}')")" \
	"111111111010110100100001000010 2.2935 0.9000" "embedding_quantize: planes, norm, scale = t / norm"

# --- a fixed set: 2000 dense Gaussian rows, 30 queries each near one row (the rest of its top 10 is as good as
# random, the hard case for an estimate); the quantised ranking must give the exact ranking's top 10
# (recall >= 0.95) and the same first row for every query. (One column holds one model's vectors, so the set is
# of one kind; bench/search.sh measures the builtin embedder's sparse vectors on real text.)
python3 - "$T_DIR" <<'PY'
import random, sys
rnd = random.Random(15)
def dense():
    return [rnd.gauss(0, 1) for _ in range(384)]
rows = [dense() for i in range(2000)]
fmt = lambda v: "{" + ",".join("%.5g" % x for x in v) + "}"
with open(sys.argv[1] + "/rows.tsv", "w") as f:
    for i, v in enumerate(rows):
        f.write("%d\t%s\n" % (i, fmt(v)))
with open(sys.argv[1] + "/queries.tsv", "w") as f:
    for n in range(30):
        base = rows[rnd.randrange(2000)]
        f.write("%d\t%s\n" % (n, fmt([x + rnd.gauss(0, 0.6) for x in base])))
PY
sql "INSERT INTO archon_sources (source_id, source_url) VALUES ('fx', 'https://fx.test/'), ('fy', 'https://fy.test/')"
psql -qAtX -v ON_ERROR_STOP=1 -c "CREATE TABLE rr (n int, v real[])" -c "CREATE TABLE q (n int, v real[])" \
	-c "\\copy rr FROM '$T_DIR/rows.tsv'" -c "\\copy q FROM '$T_DIR/queries.tsv'"
sql "INSERT INTO archon_crawled_pages (url, chunk_number, content, metadata, source_id, embedding_384, embedding_dimension)
     SELECT 'https://f' || CASE WHEN n % 3 = 0 THEN 'y' ELSE 'x' END || '.test/' || n, 0, 'row ' || n,
            jsonb_build_object('parity', n % 2), CASE WHEN n % 3 = 0 THEN 'fy' ELSE 'fx' END, v, 384 FROM rr"
sql "VACUUM ANALYZE archon_crawled_pages"
has_quant() { # TABLE WHERE: how many rows match and have the companions of their vector
	sql "SELECT count(*) FROM $1 c, pgkb.embedding_quantize(c.embedding_384) q WHERE $2 AND c.embedding_384_code = q.code AND c.embedding_384_scale = q.scale AND c.embedding_384_norm = q.norm"
}
assert_eq "$(has_quant archon_crawled_pages true)" "2000" "every inserted row has its companions"
exact() { # Q_EXPR FILTER SOURCE: the exact ranking's top 10 ids as an array expression
	echo "ARRAY(SELECT c.id FROM archon_crawled_pages c WHERE c.embedding_384 IS NOT NULL AND c.metadata @> $2
	               AND ($3::text IS NULL OR c.source_id = $3)
	             ORDER BY pgkb.cosine_similarity(c.embedding_384, $1) DESC, c.id LIMIT 10)"
}
recall() { # FILTER SOURCE: prints "recall firsts_equal" over the 30 queries
	sql "SELECT round(avg(cardinality(ARRAY(SELECT unnest(a) INTERSECT SELECT unnest(e)))) / 10.0, 3) || ' ' ||
	            count(*) FILTER (WHERE a[1] = e[1])
	       FROM (SELECT ARRAY(SELECT id FROM match_archon_crawled_pages_multi(q.v, 384, 10, $1, $2)) AS a,
	                    $(exact q.v "$1" "$2") AS e FROM q) x"
}
read -r rec firsts <<<"$(recall "'{}'" NULL)"
log "quantised vs exact, 2000 rows, 30 queries: recall@10 $rec, same first row for $firsts"
assert_ge "${rec/./}" 950 "recall@10 of the quantised search against the exact ranking >= 0.95 ($rec)"
assert_eq "$firsts" "30" "the same best row as the exact ranking for every query"
read -r rec firsts <<<"$(recall "'{\"parity\": 1}'" "'fx'")"
assert_ge "${rec/./}" 950 "... with a metadata filter and a source filter too ($rec)"
assert_eq "$(sql "SELECT count(*) FROM match_archon_crawled_pages_multi((SELECT v FROM q WHERE n = 0), 384, 50,
                  '{\"parity\": 1}', 'fx') m JOIN archon_crawled_pages c USING (id)
                  WHERE c.source_id <> 'fx' OR c.metadata->>'parity' <> '1'")" "0" "filters hold on the quantised path"
assert_eq "$(sql "SELECT count(*) FROM match_archon_crawled_pages_multi((SELECT v FROM q WHERE n = 0), 384, 1000)")" "1000" \
	"match_count above the candidate counts still fills (1000 rows)"
# the plan: stage 1's covering index can serve it without the heap when there is no metadata filter (on a table
# this small the planner may prefer the heap; seqscan off shows the index covers it)
plan=$(sql "SELECT pgkb.vector_topk_sql('array', 'archon_crawled_pages', 384)")
assert_match "$(psql -qAtX -c "PREPARE p(real[], int, jsonb, text, float8) AS $plan" -c "SET plan_cache_mode = force_custom_plan" \
                     -c "SET enable_seqscan = off" -c "SET enable_bitmapscan = off" \
                     -c "EXPLAIN EXECUTE p('$(sql "SELECT v FROM q WHERE n = 1")', 10, '{}', NULL, 1)")" \
	"Index Only Scan using idx_archon_crawled_pages_embedding_384_quant" "stage 1 is an index-only scan of its index"

# --- an UPDATE that leaves the vector keeps the companions; one that changes it recomputes them
sql "UPDATE archon_crawled_pages SET content = content || '.' WHERE url = 'https://fx.test/1'"
sql "UPDATE archon_crawled_pages SET embedding_384 = (SELECT v FROM q WHERE n = 5) WHERE url = 'https://fx.test/2'"
assert_eq "$(has_quant archon_crawled_pages "c.url IN ('https://fx.test/1', 'https://fx.test/2')")" "2" \
	"UPDATEs keep or recompute the companions"
assert_eq "$(sql "SELECT count(*) FROM match_archon_crawled_pages_multi((SELECT v FROM q WHERE n = 5), 384, 1) m
                  JOIN archon_crawled_pages c USING (id) WHERE c.url = 'https://fx.test/2'")" "1" "... and the search sees the new vector"
sql "UPDATE archon_crawled_pages SET embedding_384 = NULL, embedding_dimension = NULL WHERE url = 'https://fx.test/4'"
assert_eq "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE url = 'https://fx.test/4' AND embedding_384_code IS NULL
                  AND embedding_384_norm IS NULL")" "1" "a vector set to NULL takes its companions along"

# --- scope: pgkb.search_model restricts the ranking to one model's rows; none in scope is a WARNING
sql "UPDATE archon_crawled_pages SET embedding_model = 'model-a' WHERE url LIKE 'https://f_.test/%'"
sql "INSERT INTO archon_crawled_pages (url, chunk_number, content, source_id, embedding_384, embedding_model, embedding_dimension)
     SELECT 'https://fx.test/b' || g, 0, 'model b row ' || g, 'fx', (SELECT v FROM q WHERE n = 7), 'model-b', 384
       FROM generate_series(1, 3) g"
in_b() { # SETTING: how many of the top 5 for query 7 are model-b rows
	psql -qAtX -v ON_ERROR_STOP=1 -c "SET pgkb.search_model = '$1'" -c "SELECT count(*) FILTER (WHERE c.embedding_model = 'model-b')
	       FROM match_archon_crawled_pages_multi((SELECT v FROM q WHERE n = 7), 384, 5) m JOIN archon_crawled_pages c USING (id)"
}
assert_eq "$(in_b '')" "3" "no model set: both models ranked (the model-b copies of the query first)"
assert_eq "$(in_b model-a)" "0" "pgkb.search_model = model-a: none of model-b"
assert_eq "$(in_b model-b)" "3" "pgkb.search_model = model-b: only those"
out=$(psql -qAtX -v ON_ERROR_STOP=1 -c "SET pgkb.search_model = 'model-c'" \
      -c "SELECT string_agg(match_type, ' ') FROM hybrid_search_archon_crawled_pages_multi((SELECT v FROM q WHERE n = 7), 384, 'row 17', 2)" 2>&1)
assert_match "$out" "WARNING:.*no chunks with embeddings of dimension 384 and model \"model-c\"" "a model with no vectors: a WARNING"
assert_match "$out" "keyword" "... and the keyword side still answers"
sql "DELETE FROM archon_crawled_pages WHERE embedding_model = 'model-b'"
sql "UPDATE archon_crawled_pages SET embedding_model = NULL WHERE embedding_model = 'model-a'"

# --- a dimension with no vectors in scope: empty vector ranking, said in a WARNING; the hybrid search is the
# keyword search
q768=$(python3 -c "print('{' + ','.join(['0.1'] * 768) + '}')")
assert_eq "$(sql "SELECT count(*) FROM match_archon_crawled_pages_multi('$q768', 768, 10)")" "0" "no 768 vectors: no rows"
out=$(sql "SELECT string_agg(match_type, ' ') FROM hybrid_search_archon_crawled_pages_multi('$q768', 768, 'row 17', 2)" 2>&1)
assert_match "$out" "keyword" "no 768 vectors: hybrid falls back on its keyword ranking"
assert_match "$out" "WARNING:.*no chunks with embeddings of dimension 768" "... and says so"
assert_eq "$(sql "SELECT count(*) FROM match_archon_crawled_pages_multi((SELECT v FROM q WHERE n = 0), 384, 10, '{}', 'nosuch')")" "0" \
	"a source with no rows: no rows"

# --- the ingest worker's write with builtin vectors (pgkb.ingest_document): companions in the same INSERT
rows='[{"n":0,"hash":"h0","content":"partial indexes cover a subset of rows","metadata":{}},{"n":1,"hash":"h1","content":"a second chunk","metadata":{}}]'
codes='[{"n":0,"hash":"c0","content":"CREATE INDEX i ON t (c) WHERE c > 0;","summary":"a partial index","metadata":{}}]'
v1=$(sql "SELECT v FROM q WHERE n = 1"); v2=$(sql "SELECT v FROM q WHERE n = 2"); v3=$(sql "SELECT v FROM q WHERE n = 3")
out=$(sql "SELECT result FROM pgkb.ingest_document('s3', 'https://s3.test/p', 'page', NULL, 'Partial', '', 'text', 2, 4,
                  '$rows', '$codes', 'https://s3.test/', '$(sql "SELECT array_cat('$v1'::real[], '$v2'::real[])")', '$v3',
                  'pgkb-builtin-v1', 384)")
assert_eq "$out" "ready" "ingest_document with vectors"
assert_eq "$(has_quant archon_crawled_pages "c.url = 'https://s3.test/p'")" "2" "... chunks written with their companions"
assert_eq "$(has_quant archon_code_examples "c.url = 'https://s3.test/p'")" "1" "... and the code example"

# --- the real ingest worker (builtin embedder at insert) and the embed worker (openai provider against the stand-in)
mkdir -p "$T_DIR/docs"
printf '<html><head><title>Vacuum notes</title></head><body><h1>Vacuum</h1><p>VACUUM reclaims storage occupied by dead tuples.</p></body></html>' >"$T_DIR/docs/vacuum.html"
write_config "$T_DIR/ingest.yaml" "workers:
  ingest: {processes: 1, concurrency: 1}
  embed: {processes: 1}
  crawl: {processes: 0}
  noop: {processes: 0}
ingest: {roots: [\"$T_DIR/docs\"]}"
sup_start "$T_DIR/ingest.yaml" sup-ingest
"$PGKB" -c "$T_DIR/ingest.yaml" enqueue ingest "$T_DIR/docs" >/dev/null
wait_for "SELECT count(*) = 1 FROM pgkb.documents WHERE url LIKE '%vacuum.html' AND status = 'ready'" 60 "ingested (builtin at insert)"
kill -TERM "$SUP_PID"; wait "$SUP_PID"
assert_ge "$(has_quant archon_crawled_pages "c.url LIKE '%vacuum.html'")" 1 "the ingest worker's rows have their companions"
assert_eq "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE url LIKE '%vacuum.html' AND embedding_384_code IS NULL")" "0" \
	"... all of them"
out=$("$PGKB" -c "$T_DIR/ingest.yaml" search "reclaim storage of dead tuples" -k 1)
assert_match "$out" "^ 1\\. Vacuum" "pgkb search finds the page (pages view: title first)"
assert_match "$out" "vacuum\\.html" "... with its URL"

PY=$(python3 -c "import sys; print(sys.executable)")
"$PY" "$PGKB_SRC_DIR/tests/integration/embed_server.py" --port-file "$T_DIR/api.port" --log "$T_DIR/api.jsonl" --dim 384 \
	>"$T_DIR/api-server.log" 2>&1 &
T_PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$T_DIR/api.port" ] && break; sleep 0.1; done
sql "INSERT INTO archon_crawled_pages (url, chunk_number, content, source_id)
     SELECT 'https://fx.test/remote', g, 'remote chunk ' || g, 'fx' FROM generate_series(1, 5) g"
doc=$(sql "INSERT INTO pgkb.documents (source_id, url, status) VALUES ('fx', 'https://fx.test/remote', 'chunked') RETURNING id")
sql "INSERT INTO pgkb.jobs (kind, payload, dedupe_key) VALUES ('embed', jsonb_build_object('document_id', $doc), 'embed:$doc')" >/dev/null
write_config "$T_DIR/embed.yaml" "workers:
  embed: {processes: 1, concurrency: 2}
  ingest: {processes: 0}
  crawl: {processes: 0}
  noop: {processes: 0}
embed:
  provider: openai
  model: test-model
  base_url: http://127.0.0.1:$(cat "$T_DIR/api.port")
  batch_size: 8"
sup_start "$T_DIR/embed.yaml" sup-embed
wait_for "SELECT status = 'ready' FROM pgkb.documents WHERE id = $doc" 30 "embedded by the embed worker (remote stand-in)"
kill -TERM "$SUP_PID"; wait "$SUP_PID"
assert_eq "$(has_quant archon_crawled_pages "c.url = 'https://fx.test/remote' AND c.embedding_model = 'test-model'")" "5" \
	"the embed worker's rows have their companions"

# --- pgkb search ranks only its configured model's vectors, and prints the warning when there are none in scope
out=$("$PGKB" -c "$T_DIR/embed.yaml" search --chunks --source fx "remote chunk 3" -k 3 2>&1)
assert_match "$out" "remote chunk" "pgkb search (model test-model) finds that model's rows"
assert_eq "$(printf '%s' "$out" | grep -c WARNING)" "0" "... without a warning"
out=$("$PGKB" -c "$T_DIR/ingest.yaml" search --chunks --source fx "remote chunk 3" -k 3 2>&1)
assert_match "$out" "WARNING:.*no chunks with embeddings of dimension 384 and model \"pgkb-builtin-v1\" in source \"fx\"" \
	"pgkb search (builtin) over a source with no builtin vectors prints the warning"

# --- without the companions (dropped), the search functions scan exactly again and give the exact ranking
sql "SELECT pgkb.drop_embedding_quant()" >/dev/null
assert_eq "$(sql "SELECT count(*) FROM pg_attribute WHERE attrelid = 'archon_crawled_pages'::regclass
                  AND attname ~ '^embedding_[0-9]+_(code|scale|norm)$' AND NOT attisdropped")" \
	"0" "drop_embedding_quant drops the columns"
assert_eq "$(sql "SELECT count(*) FROM pg_trigger WHERE tgname = 'embedding_quant'")" "0" "... and the trigger"
assert_eq "$(sql "SELECT count(*) FROM q WHERE ARRAY(SELECT id FROM match_archon_crawled_pages_multi(q.v, 384, 10)) <> $(exact q.v "'{}'" NULL)")" \
	"0" "without companions: the exact scan, identical to the exact ranking"
sql "SELECT pgkb.add_embedding_quant()" >/dev/null
assert_eq "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE embedding_384 IS NOT NULL AND embedding_384_code IS NULL")" "0" \
	"add_embedding_quant fills the companions of existing rows again"
assert_eq "$(has_quant archon_crawled_pages "c.url LIKE 'https://fx.test/%'")" \
	"$(sql "SELECT count(*) FROM archon_crawled_pages WHERE url LIKE 'https://fx.test/%' AND embedding_384 IS NOT NULL")" "... correctly"
finish
