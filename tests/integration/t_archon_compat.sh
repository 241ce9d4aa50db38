#!/usr/bin/env bash
# Archon reads a knowledge base pgkb filled (issue 13), on a fresh pgkb database with Supabase's roles:
# - Archon's migration query reports nothing pending; pgkb's bookkeeping is pgkb.schema_migrations;
# - the metadata keys Archon reads on sources, pages, chunks and code examples, for files, inline text and a
#   crawl, and an extractive source summary;
# - anon (granted exactly what Supabase grants) runs every search function and the knowledge-listing queries of
#   Archon's services (supabase-py calls translated to SQL); pgkb.grant_reader_role gives a read-only role;
# - with pgkb.enable_row_level_security(), anon reads what Archon's policies allow and writes nothing, while a
#   crawl by a worker role (pgkb.grant_worker_role) completes.
. "$(dirname "$0")/lib.sh"
pg_start
psql -qX -v ON_ERROR_STOP=1 -f "$PGKB_SRC_DIR/tests/data/archon/supabase_roles.sql" >/dev/null || { fail "supabase roles"; finish; }
migrate
as_r() { local r=$1; shift; psql -qAtX -v ON_ERROR_STOP=1 -c "SET ROLE $r" -c "$*" 2>&1; }

# --- migrations: Archon's table as Archon's setup leaves it, pgkb's own elsewhere
files=$(ls "$PGKB_SCHEMA_DIR"/[0-9][0-9][0-9]_*.sql | wc -l)
assert_eq "$(sql "SELECT count(*) FROM pgkb.schema_migrations")" "$files" "pgkb records its migrations in pgkb.schema_migrations"
ARCHON_0_1_0="'001_add_source_url_display_name', '002_add_hybrid_search_tsvector', '003_ollama_add_columns',
	'004_ollama_migrate_data', '005_ollama_create_functions', '006_ollama_create_indexes_optional',
	'007_add_priority_column_to_tasks', '008_add_migration_tracking', '009_add_cascade_delete_constraints',
	'010_add_provider_placeholders', '011_add_page_metadata_table'"
# Archon's migration service: the files of migration/0.1.0 without a row (version, migration_name) are pending
pending="SELECT count(*) FROM unnest(ARRAY[$ARCHON_0_1_0]) f
          WHERE NOT EXISTS (SELECT 1 FROM archon_migrations m WHERE m.version = '0.1.0' AND m.migration_name = f)"
assert_eq "$(as_r service_role "$pending")" "0" "Archon's migration query reports nothing pending on a fresh pgkb database"
assert_eq "$(sql "SELECT count(*) FROM archon_migrations")" "11" "archon_migrations holds Archon's 11 rows, no pgkb row"
assert_eq "$(sql "SELECT string_agg(column_name || ' ' || data_type || coalesce('(' || character_maximum_length || ')', '') || ' ' || is_nullable, ', ' ORDER BY ordinal_position)
                  FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'archon_migrations'")" \
	"id uuid NO, version character varying(20) NO, migration_name character varying(255) NO, applied_at timestamp with time zone YES, checksum character varying(32) YES" \
	"archon_migrations has Archon's columns"
assert_eq "$(as_r service_role "INSERT INTO archon_migrations (version, migration_name) VALUES ('0.2.0', '001_next') RETURNING checksum IS NULL")" "t" \
	"Archon's service records a migration without a checksum"
sql "DELETE FROM archon_migrations WHERE version = '0.2.0'"
assert_match "$("$PGKB" migrate)" "up to date" "re-running pgkb migrate applies nothing"

# --- content: a directory of files, inline text and a crawl, embedded at ingest (builtin, 768 dimensions)
DOCS=$T_DIR/docs
mkdir -p "$DOCS/guide" "$T_DIR/site"
printf '# Deploy Guide\n\nThis guide explains how to deploy the service behind a reverse proxy safely.\n\n## Install\n\nInstall the package first, then write the configuration file.\n\n```bash\napt-get install -y the-service the-tools\nsystemctl enable --now the-service\n```\n\n### Verify\n\nCheck the health endpoint after a minute.\n' >"$DOCS/guide/deploy.md"
printf '# Backups\n\nNightly backups go to object storage and are kept for thirty days.\n' >"$DOCS/guide/backups.md"
printf '<html><head><title>Widget Docs</title><meta name="description" content="Widgets: how to build and ship them."></head><body><h1>Widgets</h1><p>Widgets are small reusable parts of the interface.</p><a href="/b.html">B</a></body></html>' >"$T_DIR/site/index.html"
printf '<html><head><title>Widget B</title></head><body><h1>Widget B</h1><p>The second widget page has more words in it.</p><pre><code class="language-python">def build_widget(name):\n    return Widget(name=name, size=42)\n</code></pre></body></html>' >"$T_DIR/site/b.html"
chmod -R a+rX "$DOCS" "$T_DIR/site"
for tries in 1 2 3 4 5; do
	WPORT=$(free_port)
	nginx_serve "$T_DIR/site" "$WPORT" && break
	[ "$tries" = 5 ] && { fail "nginx did not start"; finish; }
done
write_config "$T_DIR/pgkb.yaml" "workers:
  noop: {processes: 0}
  ingest: {processes: 1, concurrency: 2}
  crawl: {processes: 1, concurrency: 2}
  embed: {processes: 1}
ingest:
  roots: [\"$DOCS\"]
  chunk_size: 120
  chunk_overlap: 0
  code_min_length: 20
crawl:
  allow_private_addresses: true
  host_delay: 0ms
embed: {provider: builtin, dimension: 768}"
sup_start "$T_DIR/pgkb.yaml" sup
inline=$(python3 -c 'import json; print(json.dumps({"url": "https://notes.example/runbook", "source_id": "notes", "title": "Runbook",
	"content": "Restart the queue workers one at a time so that jobs keep flowing.\n\n```sh\nsystemctl restart worker@1\n```\n"}))')
printf "INSERT INTO pgkb.jobs (kind, payload) VALUES ('ingest', :'p')" | psql -qX -v ON_ERROR_STOP=1 -v p="$inline"
sql "INSERT INTO pgkb.jobs (kind, payload) VALUES
	('ingest', '{\"path\": \"$DOCS/guide\", \"source_id\": \"guide\"}'),
	('crawl', '{\"url\": \"http://127.0.0.1:$WPORT/\", \"source_id\": \"site\", \"tags\": [\"ui\"]}')"
wait_for "SELECT count(*) = 5 FROM pgkb.documents WHERE status = 'ready'" 90 "files, inline text and crawled pages ready" ||
	{ sql "SELECT source_id, url, status, error FROM pgkb.documents"; finish; }
wait_for "SELECT count(*) = 0 FROM pgkb.source_word_deltas" 30 "word counts folded"

# --- sources
src() { sql "SELECT concat_ws(' ', metadata->>'knowledge_type', metadata->>'source_type', metadata->'tags', coalesce(metadata->>'update_frequency', '-'), coalesce(metadata->>'original_url', '-')) FROM archon_sources WHERE source_id = '$1'"; }
assert_eq "$(src guide)" "technical file [] 0 file://$DOCS/guide" "a file source: technical, file, tags, update_frequency, original_url"
assert_eq "$(src notes)" "technical url [] - https://notes.example/runbook" "an inline-text source gets Archon's keys too"
assert_eq "$(src site)" "technical url [\"ui\"] - http://127.0.0.1:$WPORT/" "a crawled source: its tags and URL"
assert_eq "$(sql "SELECT metadata->>'crawl_type' FROM archon_sources WHERE source_id = 'site'")" "normal" "... and crawl_type normal"
gs=$(sql "SELECT summary || ' | ' || (metadata->>'summary_kind') FROM archon_sources WHERE source_id = 'guide'")
assert_match "$gs" "Nightly backups go to object storage and are kept for thirty days\\." "a file source's summary: its documents' first paragraphs"
assert_match "$gs" "This guide explains how to deploy the service behind a reverse proxy safely\\. \\| extractive$" "... of each document, marked extractive"
assert_match "$(sql "SELECT summary FROM archon_sources WHERE source_id = 'site'")" "Widgets: how to build and ship them\\." \
	"a crawled source's summary holds a page's description"
sql "UPDATE archon_sources SET summary = 'Written by Archon.' WHERE source_id = 'notes'"
sql "UPDATE archon_sources SET total_word_count = total_word_count + 1 WHERE source_id IN ('notes', 'guide')"
assert_eq "$(sql "SELECT string_agg(left(summary, 18), ',' ORDER BY source_id) FROM archon_sources WHERE source_id IN ('notes', 'guide')")" \
	"Nightly backups go,Written by Archon." "an extractive summary is made again, one written by someone else is kept"

# --- chunks, code examples and pages
keys="ARRAY['page_id', 'source_id', 'knowledge_type', 'source_type', 'crawl_type', 'tags', 'chunk_size', 'headers', 'chunk_index', 'url', 'word_count']"
for s in guide notes site; do
	assert_eq "$(sql "SELECT count(*) FILTER (WHERE metadata ?& $keys AND metadata->>'page_id' = page_id::text AND metadata->>'source_id' = source_id
	                                     AND (metadata->>'chunk_size')::int = char_length(content) AND metadata->>'knowledge_type' = 'technical')
	                  || '/' || count(*) FROM archon_crawled_pages WHERE source_id = '$s'")" \
		"$(sql "SELECT count(*) || '/' || count(*) FROM archon_crawled_pages WHERE source_id = '$s'")" "$s: every chunk carries Archon's keys"
	assert_ge "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE source_id = '$s'")" 1 "$s: has chunks"
	assert_eq "$(sql "SELECT count(*) FILTER (WHERE metadata ?& ARRAY['title', 'example_name', 'chunk_index', 'source_id', 'word_count', 'knowledge_type', 'tags'])
	                  || '/' || count(*) FROM archon_code_examples WHERE source_id = '$s'")" \
		"$(sql "SELECT count(*) || '/' || count(*) FROM archon_code_examples WHERE source_id = '$s'")" "$s: every code example carries Archon's keys"
	assert_ge "$(sql "SELECT count(*) FROM archon_code_examples WHERE source_id = '$s'")" 1 "$s: has code examples"
	assert_eq "$(sql "SELECT count(*) FROM archon_page_metadata WHERE source_id = '$s' AND NOT metadata ?& ARRAY['knowledge_type', 'crawl_type', 'page_type', 'tags']")" \
		"0" "$s: pages carry Archon's keys"
done
assert_eq "$(sql "SELECT concat_ws(' ', metadata->>'crawl_type', metadata->>'source_type', metadata->'tags') FROM archon_crawled_pages WHERE source_id = 'site' LIMIT 1")" \
	"normal url [\"ui\"]" "crawled chunks: crawl_type, source_type and tags of their source"
assert_eq "$(sql "SELECT concat_ws(' ', metadata->>'crawl_type', metadata->>'source_type') FROM archon_crawled_pages WHERE source_id = 'guide' LIMIT 1")" \
	"file file" "file chunks: crawl_type and source_type file"
assert_eq "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE source_id = 'guide' AND metadata->>'headers' IS DISTINCT FROM
                  (SELECT coalesce(string_agg(repeat('#', n::int) || ' ' || h, '; ' ORDER BY n), '')
                     FROM regexp_split_to_table(nullif(metadata->>'heading_path', ''), ' > ') WITH ORDINALITY AS t(h, n))")" \
	"0" "headers in Archon's form ('# A; ## B'), pgkb's path beside it in heading_path"
assert_eq "$(sql "SELECT metadata->>'headers' FROM archon_crawled_pages WHERE source_id = 'guide' AND content LIKE '%health endpoint%'")" \
	"# Deploy Guide; ## Install; ### Verify" "... e.g. a chunk three headings deep"
assert_eq "$(sql "SELECT metadata->>'title' || ' / ' || (metadata->>'example_name') || ' / ' || ((metadata->>'word_count')::int > 5) || ' / ' || (metadata->>'chunk_index') FROM archon_code_examples WHERE source_id = 'guide'")" \
	"Install / Install / true / 0" "a code example's title, example_name (its heading), word_count and chunk_index"

# --- anon, with Supabase's grants only, runs every search function (Archon's named arguments)
q="(SELECT embedding_768 FROM archon_crawled_pages WHERE source_id = 'guide' AND content LIKE '%health endpoint%')"
cq="(SELECT embedding_768 FROM archon_code_examples WHERE source_id = 'guide')"
search_all() { # ROLE: each search function's top url, one line each
	as_r "$1" "SELECT 'm ' || url FROM match_archon_crawled_pages_multi(query_embedding => $q, embedding_dimension => 768, match_count => 1, filter => '{}', source_filter => NULL)
	    UNION ALL SELECT 'h ' || url FROM hybrid_search_archon_crawled_pages_multi(query_embedding => $q, embedding_dimension => 768, query_text => 'health endpoint', match_count => 1, filter => '{}', source_filter => 'guide')
	    UNION ALL SELECT 'mc ' || url FROM match_archon_code_examples_multi(query_embedding => $cq, embedding_dimension => 768, match_count => 1)
	    UNION ALL SELECT 'hc ' || url FROM hybrid_search_archon_code_examples_multi(query_embedding => $cq, embedding_dimension => 768, query_text => 'apt-get install', match_count => 1)
	    UNION ALL SELECT 'l ' || url FROM match_archon_crawled_pages(query_embedding => $q, match_count => 1)
	    UNION ALL SELECT 'lh ' || url FROM hybrid_search_archon_crawled_pages(query_embedding => $q, query_text => 'health', match_count => 1)
	    UNION ALL SELECT 'lc ' || url FROM match_archon_code_examples(query_embedding => $cq, match_count => 1)
	    UNION ALL SELECT 'lhc ' || url FROM hybrid_search_archon_code_examples(query_embedding => $cq, query_text => 'install', match_count => 1)"
}
d="file://$DOCS/guide/deploy.md"
expected="m $d
h $d
mc $d
hc $d
l $d
lh $d
lc $d
lhc $d"
assert_eq "$(search_all anon)" "$expected" "anon runs all eight search functions and finds the page"
assert_eq "$(search_all authenticated)" "$expected" "... and so does authenticated"
# what failed before 088 (the helpers' schema closed to Supabase's roles), so this test can tell
sql "REVOKE USAGE ON SCHEMA pgkb FROM PUBLIC"
assert_match "$(search_all anon)" "permission denied for schema pgkb" "(without USAGE on pgkb for PUBLIC, anon's search fails)"
sql "GRANT USAGE ON SCHEMA pgkb TO PUBLIC"
# Archon's MCP return_mode="pages": chunk results grouped by metadata->>'page_id', then the pages read by id
assert_eq "$(as_r anon "SELECT p.url FROM hybrid_search_archon_crawled_pages_multi($q, 768, 'health endpoint', 3) r
                      JOIN archon_page_metadata p ON p.id = (r.metadata->>'page_id')::uuid LIMIT 1")" "$d" \
	"a search result's metadata page_id leads to its page"

# --- Archon's knowledge listing (knowledge_item_service.list_items, knowledge_api chunks and code examples)
assert_eq "$(as_r anon "SELECT string_agg(source_id, ' ' ORDER BY source_id) FROM (SELECT * FROM archon_sources
                      WHERE metadata @> '{\"knowledge_type\": \"technical\"}'
                        AND (title ILIKE '%%' OR summary ILIKE '%%' OR source_id ILIKE '%%') LIMIT 20 OFFSET 0) s")" \
	"guide notes site" "list_items: every source under Archon's technical filter"
assert_eq "$(as_r anon "SELECT count(*) FROM archon_sources WHERE metadata @> '{\"knowledge_type\": \"technical\"}' AND (title ILIKE '%guide%' OR summary ILIKE '%guide%' OR source_id ILIKE '%guide%')")" \
	"1" "list_items: the count query with a search term"
assert_eq "$(as_r anon "SELECT count(DISTINCT source_id) FROM archon_crawled_pages WHERE source_id IN ('guide', 'notes', 'site')")" "3" \
	"list_items: first URLs of the sources"
assert_ge "$(as_r anon "SELECT count(id) FROM archon_code_examples WHERE source_id = 'site'")" 1 "list_items: code example counts"
assert_ge "$(as_r anon "SELECT count(*) FROM (SELECT id, source_id, content, metadata, url FROM archon_crawled_pages WHERE source_id = 'guide' ORDER BY id LIMIT 20 OFFSET 0) c")" 1 \
	"knowledge_api: a source's chunks"
assert_ge "$(as_r anon "SELECT count(*) FROM (SELECT id, content, summary, metadata FROM archon_code_examples WHERE source_id = 'guide') c")" 1 \
	"knowledge_api: a source's code examples"
assert_eq "$(as_r anon "SELECT count(*) FROM archon_page_metadata WHERE source_id = 'guide' AND section_title IS NOT NULL AND word_count > 0")" "2" \
	"the pages of a source"

# --- a read-only role for applications
sql "CREATE ROLE rag_reader LOGIN; SELECT pgkb.grant_reader_role('rag_reader')"
assert_match "$(psql -qAtX -c "SELECT pgkb.grant_reader_role('nobody_here')" 2>&1)" 'role "nobody_here" does not exist' \
	"grant_reader_role: a missing role is an error"
assert_eq "$(PGUSER=rag_reader psql -qAtX -c "SELECT count(*) FROM match_archon_crawled_pages_multi($q, 768, 3)" 2>&1)" "3" \
	"grant_reader_role: the reader searches"
assert_eq "$(PGUSER=rag_reader psql -qAtX -c "SELECT count(*) FROM pgkb.crawl_progress" 2>&1)" "1" "... and reads crawl progress"
for stmt in "INSERT INTO archon_sources (source_id) VALUES ('x')" "UPDATE archon_crawled_pages SET content = 'x'" \
	"DELETE FROM archon_page_metadata" "TRUNCATE archon_code_examples" "INSERT INTO pgkb.jobs (kind) VALUES ('noop')" \
	"SELECT count(*) FROM pgkb.documents" "SELECT pgkb.enable_row_level_security()" "SELECT pgkb.grant_reader_role('anon')"; do
	assert_match "$(PGUSER=rag_reader psql -qAtX -c "$stmt" 2>&1)" "permission denied" "the reader is refused: $stmt"
done

# --- row-level security as Archon ships it
assert_eq "$(sql "SELECT count(*) FROM pg_class WHERE relrowsecurity AND relname LIKE 'archon_%'")" "0" "RLS is off by default"
sql "SELECT pgkb.enable_row_level_security()"
assert_eq "$(sql "SELECT count(*) FROM pg_class WHERE relrowsecurity AND relnamespace = 'public'::regnamespace AND relname IN ('archon_sources', 'archon_page_metadata', 'archon_crawled_pages', 'archon_code_examples', 'archon_settings', 'archon_migrations')")" \
	"6" "enable_row_level_security turns it on"
sql "SELECT pgkb.enable_row_level_security()" && pass "... and can run again"
assert_eq "$(as_r anon "SELECT (SELECT count(*) FROM archon_sources) || ' ' || (SELECT count(*) FROM archon_page_metadata) || ' ' || (SELECT count(*) > 0 FROM archon_crawled_pages) || ' ' || (SELECT count(*) > 0 FROM archon_code_examples)")" \
	"3 5 true true" "anon reads the knowledge base"
assert_eq "$(search_all anon | wc -l)" "8" "anon still searches"
assert_eq "$(as_r anon "SELECT count(*) FROM archon_migrations")" "0" "anon reads no migrations (Archon allows authenticated)"
assert_eq "$(as_r authenticated "SELECT count(*) FROM archon_migrations")" "11" "authenticated reads the migrations"
assert_match "$(as_r anon "INSERT INTO archon_sources (source_id) VALUES ('evil')")" "violates row-level security policy" "anon inserts nothing"
assert_eq "$(as_r service_role "INSERT INTO archon_sources (source_id) VALUES ('svc') RETURNING source_id")" "svc" "service_role writes (Archon's server)"
sql "DELETE FROM archon_sources WHERE source_id = 'svc'"
assert_match "$(as_r anon "INSERT INTO archon_crawled_pages (url, chunk_number, content, source_id) VALUES ('u', 0, 'x', 'guide')")" \
	"violates row-level security policy" "... no chunk either"
as_r anon "UPDATE archon_sources SET title = 'evil'; DELETE FROM archon_crawled_pages; DELETE FROM archon_sources" >/dev/null
assert_eq "$(sql "SELECT (SELECT count(*) FROM archon_sources WHERE title = 'evil') || ' ' || (SELECT count(*) FROM archon_sources) || ' ' || (SELECT count(*) > 0 FROM archon_crawled_pages)")" \
	"0 3 true" "anon updates and deletes nothing"
assert_eq "$(as_r service_role "UPDATE archon_settings SET value = value WHERE false; SELECT count(*) FROM archon_sources")" "3" "service_role has full access"

# a crawl by pgkb's workers under a least-privilege role, with RLS on
kill -TERM "$SUP_PID"; wait "$SUP_PID"
mkdir -p "$T_DIR/site/g"
printf '<html><head><title>Gadgets</title></head><body><h1>Gadgets</h1><p>Gadgets complement widgets nicely.</p><a href="/g/c.html">C</a></body></html>' >"$T_DIR/site/g/index.html"
printf '<html><head><title>Gadget C</title></head><body><h1>Gadget C</h1><p>The third gadget.</p></body></html>' >"$T_DIR/site/g/c.html"
chmod -R a+rX "$T_DIR/site"
sql "CREATE ROLE pgkb_worker_rls LOGIN; SELECT pgkb.grant_worker_role('pgkb_worker_rls')"
DATABASE_URL="postgresql://pgkb_worker_rls@127.0.0.1:$PGPORT/pgkb_test" sup_start "$T_DIR/pgkb.yaml" rls
sql "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', '{\"url\": \"http://127.0.0.1:$WPORT/g/\", \"source_id\": \"site2\"}')"
wait_for "SELECT count(*) = 1 FROM pgkb.crawls WHERE source_id = 'site2' AND status = 'done'" 60 "crawl with RLS on done" &&
	pass "with RLS on, a crawl by the worker role completes"
assert_eq "$(sql "SELECT count(*) FROM pgkb.documents WHERE source_id = 'site2' AND status = 'ready'")" "2" "... its pages ready"
assert_ge "$(as_r anon "SELECT count(*) FROM archon_crawled_pages WHERE source_id = 'site2' AND content LIKE '%Gadgets%'")" 1 "... and anon reads its chunks"
kill -TERM "$SUP_PID"; wait "$SUP_PID"
if grep -qE "permission denied|row-level security" "$T_DIR/rls.log"; then fail "RLS or permission errors in the workers' log"; else pass "no RLS errors in the workers' log"; fi
finish
