#!/usr/bin/env bash
# The pgvector variant against real pgvector code through libpq: PGlite (Postgres in WebAssembly) with its
# pgvector build, served over the wire protocol by @electric-sql/pglite-socket. Checks that the migrations pick
# vector(n) columns with HNSW indexes, that pgkb.embed_store (the embed worker's write) stores real[] slices into
# vector columns and marks the document ready, and that the search functions (match and hybrid, chunks and code
# examples) rank as intended; then `pgkb search` against it. PGlite serves one connection at a time, so no
# workers run here. Needs node and npm (CI: apt-get install nodejs npm); exits 77 (skipped) without them
# (tests/integration/pglite.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pglite.sh"
pglite_start @electric-sql/pglite-pgvector:vector,pg_trgm

migrate
assert_eq "$(sql "SELECT pgkb.embedding_backend()")" "pgvector" "PGlite with pgvector: the pgvector variant"
assert_eq "$(sql "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                  WHERE attrelid = 'archon_crawled_pages'::regclass AND attname = 'embedding_384'")" "vector(384)" \
	"embedding columns are vector(n)"
assert_eq "$(sql "SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%USING hnsw%'")" "10" "HNSW indexes on both tables, all dimensions"

# one-hot-ish vectors: row k points along axis k (plus a small shared component)
vec() { # AXIS [AXIS2 WEIGHT]: a 384-element real[] literal
	python3 -c "import sys
a=int(sys.argv[1]); v=[0.01]*384; v[a]=1.0
if len(sys.argv)>3: v[int(sys.argv[2])]=float(sys.argv[3])
print('{'+','.join(str(x) for x in v)+'}')" "$@"
}
sql "INSERT INTO archon_sources (source_id, source_url) VALUES ('s1', 'https://s1.test/'), ('s2', 'https://s2.test/');
     INSERT INTO archon_page_metadata (source_id, url, full_content, section_title, word_count, char_count)
     VALUES ('s1', 'https://s1.test/a', 'x', 'Page A', 1, 1), ('s2', 'https://s2.test/b', 'x', 'Page B', 1, 1);
     INSERT INTO archon_crawled_pages (url, chunk_number, content, source_id) VALUES
       ('https://s1.test/a', 1, 'vacuum reclaims storage occupied by dead tuples', 's1'),
       ('https://s1.test/a', 2, 'create an index concurrently without locking writes', 's1'),
       ('https://s1.test/a', 3, 'the planner chooses a join order', 's1'),
       ('https://s2.test/b', 1, 'checkpoints and the write-ahead log', 's2');
     INSERT INTO archon_code_examples (url, chunk_number, content, summary, source_id) VALUES
       ('https://s1.test/a', 1, 'VACUUM (VERBOSE) t;', 'vacuum a table', 's1'),
       ('https://s1.test/a', 2, 'CREATE INDEX CONCURRENTLY i ON t (c);', 'build an index concurrently', 's1');
     INSERT INTO pgkb.documents (source_id, url, status) VALUES ('s1', 'https://s1.test/a', 'chunked'),
                                                               ('s2', 'https://s2.test/b', 'chunked');"
ids=$(sql "SELECT '{' || string_agg(id::text, ',' ORDER BY chunk_number) || '}' FROM archon_crawled_pages WHERE url = 'https://s1.test/a'")
cids=$(sql "SELECT '{' || string_agg(id::text, ',' ORDER BY chunk_number) || '}' FROM archon_code_examples")
flat() { local out="" v; for v in "$@"; do out="$out${out:+,}${v:1:-1}"; done; echo "{$out}"; }
v1=$(vec 1); v2=$(vec 2); v3=$(vec 3); v4=$(vec 4); c1=$(vec 1 5 0.3); c2=$(vec 2 5 0.3)
st=$(psql -qAtX -v ON_ERROR_STOP=1 -c "SELECT pgkb.embed_store(1, '$ids', '$cids', '$(flat "$v1" "$v2" "$v3" "$c1" "$c2")', 'm1', 384)" 2>&1)
assert_eq "$st" "ready" "embed_store writes real[] slices into vector columns and returns 'ready'"
assert_eq "$(sql "SELECT status || ' ' || (ready_at IS NOT NULL) FROM pgkb.documents WHERE url = 'https://s1.test/a'")" "ready true" \
	"the document is ready"
assert_eq "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE embedding_384 IS NOT NULL AND embedding_model = 'm1'
                  AND embedding_dimension = 384")" "3" "vectors, model and dimension stored"
assert_eq "$(sql "SELECT (embedding_384::real[])[3] FROM archon_crawled_pages WHERE url = 'https://s1.test/a' AND chunk_number = 2")" "1" \
	"each row got its own slice"
b=$(sql "SELECT id FROM archon_crawled_pages WHERE url = 'https://s2.test/b'")
bad=$(psql -qAtX -c "SELECT pgkb.embed_store(2, '{$b}', '{}', '$(flat "$v4" "$v4")', 'm1', 384)" 2>&1)
assert_match "$bad" "768 vector elements for 1 rows of dimension 384" "embed_store refuses a vector count that does not fit"
assert_eq "$(sql "SELECT pgkb.embed_store(2, '{$b}', '{}', '$v4', 'm1', 384)")" "ready" "second document ready"

q=$(vec 2 1 0.5)  # nearest chunk 2, then chunk 1
assert_eq "$(sql "SELECT string_agg(chunk_number::text || url, ' ' ORDER BY similarity DESC)
                  FROM match_archon_crawled_pages_multi(pgkb.to_embedding('$q'), 384, 2)")" \
	"2https://s1.test/a 1https://s1.test/a" "match_archon_crawled_pages_multi: nearest first, match_count rows"
assert_eq "$(sql "SELECT count(*) FROM match_archon_crawled_pages_multi('[$(vec 4 | tr -d '{}')]'::vector, 384, 10, '{}', 's1')")" "3" \
	"source_filter"
# hybrid: chunk 3 is the keyword hit ("planner join order"), chunk 2 the vector hit; chunk 3 ranks high in both
q3=$(vec 3 2 0.9)
out=$(sql "SELECT string_agg(chunk_number || ':' || match_type, ' ' ORDER BY similarity DESC, id)
           FROM hybrid_search_archon_crawled_pages_multi(pgkb.to_embedding('$q3'), 384, 'planner join order', 3)")
assert_eq "$out" "3:hybrid 2:vector 1:vector" "hybrid: found by both rankings first, then by vector rank (RRF)"
assert_eq "$(sql "SELECT round(similarity::numeric, 3) FROM hybrid_search_archon_crawled_pages_multi(
                    pgkb.to_embedding('$q3'), 384, 'planner join order', 1)")" "1.000" \
	"hybrid: first in both rankings scores 1.0"
assert_eq "$(sql "SELECT string_agg(chunk_number || ':' || match_type, ' ')
                  FROM hybrid_search_archon_crawled_pages_multi(NULL, 384, 'write-ahead log', 5)")" "1:keyword" \
	"hybrid with a NULL embedding is a keyword search"
assert_eq "$(sql "SELECT string_agg(chunk_number::text, ' ' ORDER BY similarity DESC)
                  FROM match_archon_code_examples_multi(pgkb.to_embedding('$(vec 2)'), 384, 2)")" "2 1" \
	"match_archon_code_examples_multi"
assert_eq "$(sql "SELECT chunk_number || ':' || match_type || ':' || summary
                  FROM hybrid_search_archon_code_examples_multi(pgkb.to_embedding('$(vec 1)'), 384, 'build index concurrently', 2)
                  LIMIT 1")" "2:hybrid:build an index concurrently" "hybrid_search_archon_code_examples_multi (keyword in summary)"
assert_eq "$(sql "SELECT count(*) FROM hybrid_search_archon_crawled_pages(pgkb.to_embedding('$q3'), 'planner', 2)")" "2" \
	"Archon's legacy name without the dimension"
err=$(psql -qAtX -c "SELECT * FROM match_archon_crawled_pages_multi(pgkb.to_embedding('{1,2,3}'), 384, 2)" 2>&1)
assert_match "$err" "query_embedding has 3 dimensions, embedding_dimension is 384" "a wrong query dimension is refused clearly"

# the ingest worker's write with vectors (builtin provider): real[] slices go into the vector columns at insert
rows='[{"n":0,"hash":"h0","content":"partial indexes cover a subset of rows","metadata":{}},{"n":1,"hash":"h1","content":"a second chunk","metadata":{}}]'
codes='[{"n":0,"hash":"c0","content":"CREATE INDEX i ON t (c) WHERE c > 0;","summary":"a partial index","metadata":{}}]'
out=$(sql "SELECT result FROM pgkb.ingest_document('s3', 'https://s3.test/p', 'page', NULL, 'Partial', '', 'text', 2, 4,
                  '$rows', '$codes', 'https://s3.test/', '$(flat "$v1" "$v2")', '$v3', 'pgkb-builtin-v1', 384)")
assert_eq "$out" "ready" "ingest_document with vectors: the page is ready at once"
assert_eq "$(sql "SELECT string_agg(chunk_number || ':' || (embedding_384::real[])[chunk_number + 2] || ':' || embedding_dimension, ' ' ORDER BY chunk_number)
                  FROM archon_crawled_pages WHERE url = 'https://s3.test/p'")" "0:1:384 1:1:384" "... each chunk with its vector (vector(384))"
assert_eq "$(sql "SELECT (embedding_384::real[])[4] || ':' || embedding_model FROM archon_code_examples WHERE url = 'https://s3.test/p'")" \
	"1:pgkb-builtin-v1" "... and the code example with its own"

# pgkb search against pgvector (builtin query embedding; the keyword ranking finds the page)
out=$("$PGKB" search "vacuum reclaims dead tuples" -k 2 2>&1)
assert_match "$out" "^ 1\\. Page A  \\(source s1\\)" "pgkb search runs against the pgvector variant (pages view)"
assert_match "$out" "^    [0-9.]+ (hybrid|keyword) +#1 " "... the page's best chunk with its score and match type"
assert_match "$out" "vacuum reclaims storage occupied by dead tuples" "... with the snippet"
finish
