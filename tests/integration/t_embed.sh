#!/usr/bin/env bash
# The embed worker with the builtin provider: a document's unembedded chunks and code examples get vectors,
# model and dimension in the fenced completion and the document becomes ready; a re-ingested document only has
# its new rows embedded; a long CPU-bound job keeps its lease (the loop stays responsive); bad payloads and
# vanished documents; then `pgkb search` over the result; vectors the ingest worker makes (builtin provider) are
# exactly those the embed worker makes.
. "$(dirname "$0")/lib.sh"
pg_start
migrate

# make_doc SOURCE URL NCHUNKS CHUNK_TEXT_SQL: a source, page, chunks, one code example and a 'chunked' document
# row, as ingest writes them; prints the document id. CHUNK_TEXT_SQL is an SQL expression of g (1..N).
make_doc() {
	sql "INSERT INTO archon_sources (source_id, source_url) VALUES ('$1', 'https://$1.test/') ON CONFLICT DO NOTHING;
	     INSERT INTO archon_page_metadata (source_id, url, full_content, section_title, word_count, char_count,
	            metadata)
	     VALUES ('$1', '$2', 'full', 'Title of $2', 1, 4, '{\"title\": \"Title of $2\"}') ON CONFLICT DO NOTHING;
	     INSERT INTO archon_crawled_pages (url, chunk_number, content, source_id)
	     SELECT '$2', g, $4, '$1' FROM generate_series(1, $3) g;
	     INSERT INTO archon_code_examples (url, chunk_number, content, summary, source_id)
	     VALUES ('$2', 1, 'CREATE INDEX CONCURRENTLY idx ON t (c);', 'build an index without blocking writes', '$1');" &&
	sql "INSERT INTO pgkb.documents (source_id, url, status) VALUES ('$1', '$2', 'chunked') RETURNING id"
}
enqueue_embed() { # DOC_ID [max_attempts]: prints the job id
	sql "INSERT INTO pgkb.jobs (kind, payload, dedupe_key, max_attempts)
	     VALUES ('embed', jsonb_build_object('document_id', $1), 'embed:$1', ${2:-5}) RETURNING id"
}

LEASE=2s write_config "$T_DIR/pgkb.yaml" "workers:
  embed: {processes: 1, concurrency: 4}
  ingest: {processes: 0}
  crawl: {processes: 0}
  noop: {processes: 0}
embed:
  batch_size: 16"
sup_start "$T_DIR/pgkb.yaml" sup
wait_for "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'pgkb-embed' AND query LIKE 'LISTEN%'" 20 "embed worker connected"

# --- a document: 40 chunks (3 batches) and a code example
a=$(make_doc docs https://docs.test/indexes 40 "'Chunk ' || g || ' about partial indexes, vacuum and the planner, part ' || g")
ja=$(enqueue_embed "$a")
wait_for "SELECT status = 'ready' AND ready_at IS NOT NULL FROM pgkb.documents WHERE id = $a" 30 "document $a ready"
assert_eq "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE url = 'https://docs.test/indexes'
                  AND embedding_dimension = 384 AND embedding_model = 'pgkb-builtin-v1'
                  AND cardinality(embedding_384::real[]) = 384")" "40" "every chunk has a 384-dimensional builtin vector"
assert_eq "$(sql "SELECT count(*) FROM archon_code_examples WHERE url = 'https://docs.test/indexes'
                  AND embedding_dimension = 384 AND embedding_384 IS NOT NULL")" "1" "the code example is embedded"
assert_eq "$(sql "SELECT bool_and(abs(pgkb.l2_norm(embedding_384::real[]) - 1) < 1e-4) FROM archon_crawled_pages")" "t" \
	"vectors are unit length"
assert_eq "$(sql "SELECT count(*) FROM pgkb.job_history WHERE id = $ja AND state = 'succeeded'")" "1" "the embed job succeeded"
assert_eq "$(sql "SELECT count(DISTINCT embedding_384::text) FROM archon_crawled_pages")" "40" "distinct texts, distinct vectors"

# --- re-ingest: one chunk replaced, one added; only those are embedded, the others keep their vectors
before=$(sql "SELECT md5(string_agg(embedding_384::text, '' ORDER BY id)) FROM archon_crawled_pages WHERE chunk_number > 1")
sql "DELETE FROM archon_crawled_pages WHERE url = 'https://docs.test/indexes' AND chunk_number = 1;
     INSERT INTO archon_crawled_pages (url, chunk_number, content, source_id)
     VALUES ('https://docs.test/indexes', 1, 'a changed first chunk', 'docs'),
            ('https://docs.test/indexes', 41, 'a new last chunk', 'docs');
     UPDATE pgkb.documents SET status = 'chunked' WHERE id = $a"
enqueue_embed "$a" >/dev/null
wait_for "SELECT status = 'ready' FROM pgkb.documents WHERE id = $a" 30 "re-ingested document ready again"
after=$(sql "SELECT md5(string_agg(embedding_384::text, '' ORDER BY id)) FROM archon_crawled_pages
             WHERE chunk_number > 1 AND chunk_number < 41")
assert_eq "$after" "$before" "unchanged chunks keep their vectors"
assert_eq "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE embedding_dimension IS NULL")" "0" "new chunks embedded"
assert_match "$(cat "$T_DIR/sup.log")" "document $a: 2 chunks and 0 code examples embedded" "only the two new chunks were embedded"

# --- a document whose row vanished meanwhile, and a bad payload
jg=$(sql "INSERT INTO pgkb.jobs (kind, payload) VALUES ('embed', '{\"document_id\": 987654}') RETURNING id")
jb=$(sql "INSERT INTO pgkb.jobs (kind, payload) VALUES ('embed', '{\"doc\": 1}') RETURNING id")
wait_for "SELECT count(*) = 1 FROM pgkb.job_history WHERE id = $jg AND state = 'succeeded'" 20 "a vanished document's job succeeds"
wait_for "SELECT state = 'dead' FROM pgkb.jobs WHERE id = $jb" 20 "a bad payload is dead at once"
assert_match "$(sql "SELECT last_error FROM pgkb.jobs WHERE id = $jb")" 'payload must be \{"document_id": N\}' "... with a clear error"

# --- a long CPU-bound job (builtin, 1,500 chunks of ~1,200 characters) runs in slices: with a 2 s lease the
# worker still renews it, so the job runs exactly once
big=$(make_doc docs https://docs.test/big 1500 "repeat('Write-ahead logging ensures durability of chunk ' || g || '. ', 24)")
jbig=$(enqueue_embed "$big")
wait_for "SELECT status = 'ready' FROM pgkb.documents WHERE id = $big" 120 "1,500-chunk document ready"
assert_eq "$(sql "SELECT attempts FROM pgkb.job_history WHERE id = $jbig")" "1" "the long job kept its lease (one attempt)"
assert_eq "$(grep -c "rescued job $jbig" "$T_DIR/sup.log")" "0" "... and was never rescued"

# --- search: hybrid over chunks and code examples
make_doc other https://other.test/wal 3 "'Checkpoints flush dirty buffers; the write-ahead log is replayed after a crash ' || g" >/dev/null
enqueue_embed "$(sql "SELECT id FROM pgkb.documents WHERE url = 'https://other.test/wal'")" >/dev/null
wait_for "SELECT status = 'ready' FROM pgkb.documents WHERE url = 'https://other.test/wal'" 30 "third document ready"
out=$("$PGKB" -c "$T_DIR/pgkb.yaml" search "write-ahead log replayed after a crash" --chunks -k 3 2>&1)
assert_match "$out" "^ 1\\. [0-9.]+  Title of https://other.test/wal  \\[(hybrid|vector|keyword)\\]" "search ranks the matching page first, with its title"
assert_match "$out" "https://other.test/wal" "... prints its url"
assert_match "$out" "Checkpoints flush dirty buffers" "... and a snippet"
assert_eq "$(printf '%s\n' "$out" | grep -c '^ *[0-9]\+\. ')" "3" "-k 3 prints three results"
out=$("$PGKB" -c "$T_DIR/pgkb.yaml" search "index without blocking writes" --code -k 2 2>&1)
assert_match "$out" "build an index without blocking writes" "--code searches code examples (summary as snippet)"
out=$("$PGKB" -c "$T_DIR/pgkb.yaml" search "write-ahead log replayed" --source docs -k 5 2>&1)
assert_eq "$(printf '%s\n' "$out" | grep -c 'other.test')" "0" "--source restricts the results to one source"
"$PGKB" -c "$T_DIR/pgkb.yaml" search >/dev/null 2>&1; assert_eq "$?" "2" "search without a query is a usage error"
kill -TERM "$SUP_PID"; wait "$SUP_PID"

# --- the builtin vectors the ingest worker inserts are bit for bit those the embed worker stores
PGDOCS=/usr/share/doc/postgresql-doc-15/html
if [ -f "$PGDOCS/sql-createindex.html" ]; then
	mkdir -p "$T_DIR/docs"
	cp "$PGDOCS/sql-createindex.html" "$PGDOCS/tutorial-join.html" "$T_DIR/docs/"
	write_config "$T_DIR/both.yaml" "workers:
  embed: {processes: 1, concurrency: 4}
  ingest: {processes: 1, concurrency: 2}
  crawl: {processes: 0}
  noop: {processes: 0}
ingest: {roots: [\"$T_DIR/docs\"]}"
	sup_start "$T_DIR/both.yaml" both
	"$PGKB" enqueue ingest "$T_DIR/docs" >/dev/null
	docs="url LIKE 'file://$T_DIR/docs/%'"
	wait_for "SELECT count(*) = 2 FROM pgkb.documents WHERE $docs AND status = 'ready'" 60 "ingested pages ready"
	vecs() { sql "SELECT md5(string_agg(t, ',' ORDER BY t)) FROM (
		SELECT 'p' || id || embedding_384::text || embedding_model AS t FROM archon_crawled_pages WHERE $docs UNION ALL
		SELECT 'c' || id || embedding_384::text || embedding_model FROM archon_code_examples WHERE $docs) x"; }
	at_ingest=$(vecs)
	assert_eq "$(sql "SELECT count(*) FROM pgkb.job_history WHERE kind = 'embed' AND payload->>'document_id' IN
	                  (SELECT id::text FROM pgkb.documents WHERE $docs)")" "0" "the ingest worker embedded them (no embed job)"
	sql "UPDATE archon_crawled_pages SET embedding_384 = NULL, embedding_model = NULL, embedding_dimension = NULL WHERE $docs;
	     UPDATE archon_code_examples SET embedding_384 = NULL, embedding_model = NULL, embedding_dimension = NULL WHERE $docs;
	     UPDATE pgkb.documents SET status = 'chunked' WHERE $docs;
	     INSERT INTO pgkb.jobs (kind, payload) SELECT 'embed', jsonb_build_object('document_id', id) FROM pgkb.documents WHERE $docs"
	wait_for "SELECT count(*) = 2 FROM pgkb.documents WHERE $docs AND status = 'ready'" 60 "re-embedded by the embed worker"
	assert_eq "$(vecs)" "$at_ingest" "the embed worker's vectors equal the ingest worker's (chunks and code examples)"
	kill -TERM "$SUP_PID"; wait "$SUP_PID"
else
	echo "postgresql-doc-15 is not installed: ingest-time vectors not compared"
fi
finish
