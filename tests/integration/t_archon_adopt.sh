#!/usr/bin/env bash
# Adopting an Archon v1 database (issue 13): Archon's own complete_setup.sql, as Archon ships it
# (tests/data/archon/), applied to an empty database with Supabase's roles, rows written the way Archon's
# services write them (sources, pages, chunks and code examples with 768-dimensional embeddings), then
# `pgkb migrate` over it. Every row stays and stays searchable (by pgkb's search functions, for Archon's
# roles), pgkb.documents is backfilled for the pages already there, archon_migrations still reports nothing
# pending, Archon's own writes and objects keep working, and pgkb's worker role can write under the
# row-level security Archon's setup turned on.
# Needs real pgvector (Archon's setup creates the vector extension): PGlite with its pgvector build, as in
# t_search_pgvector.sh (tests/integration/pglite.sh); exits 77 (skipped) without node and npm.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pglite.sh"
pglite_start @electric-sql/pglite-pgvector:vector,pg_trgm,pgcrypto
# as_r ROLE SQL: SQL under ROLE. PGlite's one backend keeps session state across connections: reset the role.
as_r() {
	local r=$1 out rc
	shift
	out=$(psql -qAtX -v ON_ERROR_STOP=1 -c "SET ROLE $r" -c "$*" 2>&1); rc=$?
	psql -qAtX -c "RESET ROLE" >/dev/null 2>&1
	printf '%s\n' "$out"
	return $rc
}
DATA=$PGKB_SRC_DIR/tests/data/archon

# --- Archon's setup, as a Supabase project runs it
psql -qX -v ON_ERROR_STOP=1 -f "$DATA/supabase_roles.sql" >"$T_DIR/roles.log" 2>&1 || { fail "Supabase roles: $(tail -3 "$T_DIR/roles.log")"; finish; }
psql -qX -v ON_ERROR_STOP=1 -f "$DATA/complete_setup.sql" >"$T_DIR/setup.log" 2>&1 ||
	{ fail "Archon's complete_setup.sql: $(grep -m3 ERROR "$T_DIR/setup.log")"; finish; }
pass "Archon's complete_setup.sql applies"

# --- rows as Archon's services write them (source_management_service.update_source_info, page_storage_operations,
# document_storage_operations, code_extraction_service), as service_role; 768-dimensional embeddings
vec() { python3 -c "import sys
a=int(sys.argv[1]); v=[0.01]*768; v[a]=1.0
print('[' + ','.join(str(x) for x in v) + ']')" "$1"; }
as_r service_role "
INSERT INTO archon_sources (source_id, source_url, source_display_name, title, summary, total_word_count, metadata) VALUES
 ('a1b2c3d4e5f60718', 'https://docs.example.com/', 'Example Docs', 'Example Docs', 'Docs of Example, written by an LLM.', 60,
  '{\"knowledge_type\": \"technical\", \"tags\": [\"example\"], \"source_type\": \"url\", \"auto_generated\": false, \"update_frequency\": 7, \"original_url\": \"https://docs.example.com/\"}'),
 ('file_notes_md_1234', 'file://notes.md', 'notes.md', 'notes.md', 'Team notes.', 12,
  '{\"knowledge_type\": \"business\", \"tags\": [], \"source_type\": \"file\", \"auto_generated\": false, \"update_frequency\": 7}');
INSERT INTO archon_page_metadata (source_id, url, full_content, section_title, section_order, word_count, char_count, chunk_count, metadata) VALUES
 ('a1b2c3d4e5f60718', 'https://docs.example.com/install', '# Install\n\nInstall the example package with pip.', NULL, 0, 7, 45, 0,
  '{\"knowledge_type\": \"technical\", \"crawl_type\": \"normal\", \"page_type\": \"documentation\", \"tags\": [\"example\"]}'),
 ('a1b2c3d4e5f60718', 'https://docs.example.com/config', '# Configure\n\nThe configuration file lives in the home directory.', NULL, 0, 9, 60, 0,
  '{\"knowledge_type\": \"technical\", \"crawl_type\": \"normal\", \"page_type\": \"documentation\", \"tags\": [\"example\"]}');
UPDATE archon_page_metadata SET chunk_count = 1;
INSERT INTO archon_crawled_pages (url, chunk_number, content, metadata, source_id, embedding_768, llm_chat_model, embedding_model, embedding_dimension, page_id)
SELECT p.url, 0, substr(p.full_content, 1), jsonb_build_object('url', p.url, 'title', '', 'description', '', 'source_id', p.source_id,
         'knowledge_type', 'technical', 'page_id', p.id, 'crawl_type', 'normal', 'word_count', p.word_count, 'char_count', p.char_count,
         'chunk_index', 0, 'tags', '[\"example\"]'::jsonb, 'headers', '# ' || split_part(p.full_content, E'\n', 1), 'chunk_size', p.char_count),
       p.source_id, CASE p.url WHEN 'https://docs.example.com/install' THEN '$(vec 1)'::vector ELSE '$(vec 2)'::vector END,
       'gpt-4.1-nano', 'text-embedding-3-small', 768, p.id
  FROM archon_page_metadata p;
INSERT INTO archon_crawled_pages (url, chunk_number, content, metadata, source_id, embedding_768, embedding_model, embedding_dimension) VALUES
 ('file://notes.md', 0, 'Stand-up is at nine; the release train leaves on Thursdays.',
  '{\"chunk_index\": 0, \"url\": \"file://notes.md\", \"source\": \"file_notes_md_1234\", \"source_id\": \"file_notes_md_1234\", \"knowledge_type\": \"business\", \"source_type\": \"file\", \"filename\": \"notes.md\"}',
  'file_notes_md_1234', '$(vec 3)', 'text-embedding-3-small', 768);
INSERT INTO archon_code_examples (url, chunk_number, content, summary, metadata, source_id, embedding_768, llm_chat_model, embedding_model, embedding_dimension) VALUES
 ('https://docs.example.com/install', 0, 'pip install example-package --upgrade', 'Installs or upgrades the example package with pip.',
  '{\"chunk_index\": 0, \"url\": \"https://docs.example.com/install\", \"source\": \"a1b2c3d4e5f60718\", \"source_id\": \"a1b2c3d4e5f60718\", \"language\": \"bash\", \"char_count\": 37, \"word_count\": 4, \"example_name\": \"Install Package\", \"title\": \"Install Package\"}',
  'a1b2c3d4e5f60718', '$(vec 4)', 'gpt-4.1-nano', 'text-embedding-3-small', 768);" >"$T_DIR/rows.log" || { fail "Archon's writes: $(cat "$T_DIR/rows.log")"; finish; }
counts="SELECT (SELECT count(*) FROM archon_sources) || ' ' || (SELECT count(*) FROM archon_page_metadata) || ' ' ||
               (SELECT count(*) FROM archon_crawled_pages) || ' ' || (SELECT count(*) FROM archon_code_examples)"
assert_eq "$(sql "$counts")" "2 2 3 1" "Archon's rows written"
meta_before=$(sql "SELECT md5(string_agg(metadata::text, '|' ORDER BY id)) FROM archon_crawled_pages")

# --- pgkb migrate over it
"$PGKB" migrate >"$T_DIR/migrate.log" 2>&1; rc=$?
assert_eq "$rc" "0" "pgkb migrate over an Archon v1 database succeeds"
[ "$rc" = 0 ] || { tail -5 "$T_DIR/migrate.log"; finish; }
assert_eq "$(sql "$counts")" "2 2 3 1" "every row of Archon's is kept"
assert_eq "$(sql "SELECT md5(string_agg(metadata::text, '|' ORDER BY id)) FROM archon_crawled_pages")" "$meta_before" "... chunk metadata untouched"
assert_eq "$(sql "SELECT summary || ' ' || (metadata->>'knowledge_type') FROM archon_sources WHERE source_id = 'file_notes_md_1234'")" \
	"Team notes. business" "... Archon's summaries and knowledge types kept"
assert_eq "$(sql "SELECT pgkb.embedding_backend()")" "pgvector" "the vector(n) columns are pgkb's pgvector variant"
assert_eq "$(sql "SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%USING ivfflat%'") $(sql "SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%USING hnsw%'")" \
	"0 10" "Archon's untrained ivfflat indexes replaced by HNSW"
assert_eq "$(sql "SELECT count(*) FROM archon_migrations WHERE version = '0.1.0'") $(sql "SELECT count(*) FROM archon_migrations")" "11 11" \
	"archon_migrations: Archon's rows, nothing of pgkb's"
assert_eq "$(sql "SELECT count(*) FROM pgkb.schema_migrations")" "$(ls "$PGKB_SCHEMA_DIR"/[0-9][0-9][0-9]_*.sql | wc -l)" "pgkb's own in pgkb.schema_migrations"

# --- pages backfilled into pgkb.documents
assert_eq "$(sql "SELECT string_agg(url || ':' || kind || ':' || status || ':' || chunk_count || ':' || code_count, ' ' ORDER BY url) FROM pgkb.documents")" \
	"file://notes.md:file:ready:1:0 https://docs.example.com/config:page:ready:1:0 https://docs.example.com/install:page:ready:1:1" \
	"pgkb.documents backfilled, ready, for every page and chunked URL"
assert_eq "$(sql "SELECT count(*) FROM archon_page_metadata m JOIN pgkb.documents d ON d.id = (m.metadata->>'document_id')::bigint AND d.url = m.url")" "2" \
	"pages name their document"
assert_eq "$(sql "SELECT count(*) FROM pgkb.jobs")" "0" "no job for rows that have their embeddings"

# --- searchable, by Archon's roles, with Archon's named arguments
for r in anon authenticated service_role; do
	out=$(as_r "$r" "SELECT string_agg(url, ' ' ORDER BY similarity DESC) FROM match_archon_crawled_pages_multi(query_embedding => '$(vec 2)', embedding_dimension => 768, match_count => 2, filter => '{}', source_filter => NULL)")
	assert_eq "$out" "https://docs.example.com/config https://docs.example.com/install" "$r: match_archon_crawled_pages_multi ranks Archon's chunks"
done
assert_eq "$(as_r anon "SELECT url || ' ' || match_type FROM hybrid_search_archon_crawled_pages_multi('$(vec 1)', 768, 'install package pip', 1)")" \
	"https://docs.example.com/install hybrid" "anon: hybrid search over Archon's chunks"
assert_eq "$(as_r anon "SELECT metadata->>'example_name' FROM hybrid_search_archon_code_examples_multi('$(vec 4)', 768, 'pip install', 1)")" \
	"Install Package" "anon: hybrid code-example search"
assert_eq "$(as_r anon "SELECT count(*) FROM match_archon_code_examples('$(vec 4)', 5)") $(as_r anon "SELECT count(*) FROM hybrid_search_archon_crawled_pages('$(vec 3)', 'release train', 5, '{}', 'file_notes_md_1234')")" \
	"1 1" "anon: Archon's older names"
assert_eq "$(as_r anon "SELECT string_agg(source_id, ' ' ORDER BY source_id) FROM archon_sources WHERE metadata @> '{\"knowledge_type\": \"technical\"}'")" \
	"a1b2c3d4e5f60718" "anon: Archon's knowledge listing by type"
assert_eq "$(as_r anon "SELECT p.url FROM match_archon_crawled_pages_multi('$(vec 1)', 768, 1) r JOIN archon_page_metadata p ON p.id = (r.metadata->>'page_id')::uuid")" \
	"https://docs.example.com/install" "anon: pages by a result's page_id (MCP return_mode pages)"

# --- Archon's own writes and objects keep working after the migration
out=$(as_r service_role "INSERT INTO archon_sources (source_id, source_url, title, metadata) VALUES ('new0000000000000', 'https://new.example/', 'New', '{\"knowledge_type\": \"technical\", \"tags\": [], \"source_type\": \"url\"}');
	INSERT INTO archon_crawled_pages (url, chunk_number, content, metadata, source_id, embedding_768, embedding_model, embedding_dimension)
	VALUES ('https://new.example/', 0, 'fresh text', '{\"source_id\": \"new0000000000000\", \"knowledge_type\": \"technical\"}', 'new0000000000000', '$(vec 5)', 'm', 768);
	INSERT INTO archon_migrations (version, migration_name) VALUES ('0.1.1', '012_next') RETURNING migration_name")
assert_eq "$out" "012_next" "Archon's server still adds sources, chunks and migration rows (service_role)"
assert_eq "$(as_r service_role "SELECT count(*) FROM archon_crawled_pages WHERE metadata->>'source_id' = 'new0000000000000' AND NOT metadata ? 'page_id'")" "1" \
	"... its chunk metadata as Archon wrote it"
out=$(as_r service_role "INSERT INTO archon_projects (title) VALUES ('P') RETURNING title; SELECT count(*) FROM archon_settings WHERE key IS NOT NULL")
assert_match "$out" "^P" "Archon's project and settings tables still work"
assert_eq "$(sql "SELECT get_embedding_column_name(768) || ' ' || detect_embedding_dimension('$(vec 1)'::vector)")" "embedding_768 768" \
	"Archon's helper functions still answer"

# --- pgkb's workers write under the row-level security Archon's setup turned on
assert_eq "$(sql "SELECT count(*) FROM pg_policies WHERE policyname LIKE 'pgkb workers %'")" "13" "pgkb's write policies (and workers' read of archon_settings) were added to Archon's RLS"
sql "CREATE ROLE pgkb_worker_t LOGIN; SELECT pgkb.grant_worker_role('pgkb_worker_t')" >/dev/null
out=$(as_r pgkb_worker_t "SELECT result FROM pgkb.ingest_document('a1b2c3d4e5f60718', 'https://docs.example.com/faq', 'page', NULL, 'FAQ', '',
	'# FAQ\n\nAnswers to common questions.', 4, 30,
	'[{\"n\": 0, \"hash\": \"h0\", \"content\": \"Answers to common questions.\", \"metadata\": {\"chunk_index\": 0}}]', '[]',
	'https://docs.example.com/', NULL, NULL, NULL, NULL)")
assert_eq "$out" "chunked" "the worker role ingests a page into the adopted source"
assert_eq "$(as_r anon "SELECT metadata->>'knowledge_type' || ' ' || (metadata->'tags')::text || ' ' || ((metadata->>'page_id') IS NOT NULL) FROM archon_crawled_pages WHERE url = 'https://docs.example.com/faq'")" \
	"technical [\"example\"] true" "... its chunk carries the source's keys and page_id, and anon reads it"
assert_match "$(as_r anon "INSERT INTO archon_page_metadata (source_id, url, full_content, word_count, char_count) VALUES ('a1b2c3d4e5f60718', 'x', 'x', 1, 1)")" \
	"violates row-level security policy" "anon still writes nothing"
finish
