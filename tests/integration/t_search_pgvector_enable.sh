#!/usr/bin/env bash
# pgkb.enable_pgvector() on a database migrated in the real[] variant with the quantised companions (schema 090):
# PGlite with pgvector (as t_search_pgvector), the array variant forced for the migration, rows with vectors
# written (companions filled by the trigger), then the switch: the companions and their trigger go, the vectors
# become vector(n) with HNSW indexes, and the search functions rank with pgvector, honouring pgkb.search_model.
# Needs node and npm; exits 77 (skipped) without them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pglite.sh"
pglite_start @electric-sql/pglite-pgvector:vector,pg_trgm

# the array variant, though pgvector is there (a later install, as far as the schema can tell). PGlite serves every
# connection from its one session, so a SET outlives the connection and reaches the migration's.
sql "SET pgkb.embedding_backend = 'array'"
migrate
assert_eq "$(sql "SELECT pgkb.embedding_backend()")" "array" "forced: the array variant"
assert_eq "$(sql "SELECT count(*) FROM pg_attribute WHERE attrelid = 'archon_crawled_pages'::regclass AND attname LIKE '%_code'
                  AND NOT attisdropped")" "5" "companion columns present"
vec() { python3 -c "import sys
a=int(sys.argv[1]); v=[0.01]*384; v[a]=1.0
print('{'+','.join(str(x) for x in v)+'}')" "$1"; }
sql "INSERT INTO archon_sources (source_id, source_url) VALUES ('s1', 'https://s1.test/');
     INSERT INTO archon_crawled_pages (url, chunk_number, content, source_id, embedding_384, embedding_dimension,
                                       embedding_model)
     VALUES ('https://s1.test/a', 1, 'vacuum reclaims storage', 's1', '$(vec 1)', 384, 'm1'),
            ('https://s1.test/a', 2, 'create an index concurrently', 's1', '$(vec 2)', 384, 'm1'),
            ('https://s1.test/a', 3, 'the planner chooses a join order', 's1', '$(vec 3)', 384, 'm1')"
assert_eq "$(sql "SELECT count(embedding_384_code) FROM archon_crawled_pages")" "3" "rows written with their companions"
assert_eq "$(sql "SELECT string_agg(chunk_number::text, ' ' ORDER BY similarity DESC)
                  FROM match_archon_crawled_pages_multi('$(vec 2)', 384, 1)")" "2" "array variant: quantised search"

sql "RESET pgkb.embedding_backend"
assert_eq "$(sql "SELECT pgkb.enable_pgvector()")" "pgvector" "enable_pgvector converts the database"
assert_eq "$(sql "SELECT count(*) FROM pg_attribute WHERE attrelid IN ('archon_crawled_pages'::regclass,
                  'archon_code_examples'::regclass) AND attname ~ '_(code|scale|norm)$' AND NOT attisdropped")" "0" \
	"... the companion columns are gone"
assert_eq "$(sql "SELECT count(*) FROM pg_trigger WHERE tgname = 'embedding_quant'")" "0" "... and their trigger"
assert_eq "$(sql "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                  WHERE attrelid = 'archon_crawled_pages'::regclass AND attname = 'embedding_384'")" "vector(384)" "... vector(n) columns"
assert_eq "$(sql "SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%USING hnsw%'")" "10" "... HNSW indexes"
assert_eq "$(sql "SELECT string_agg(chunk_number::text, ' ' ORDER BY similarity DESC)
                  FROM match_archon_crawled_pages_multi(pgkb.to_embedding('$(vec 3)'), 384, 1)")" "3" \
	"... and the search functions rank with pgvector, the vectors kept"
sql "INSERT INTO archon_crawled_pages (url, chunk_number, content, source_id, embedding_384, embedding_dimension, embedding_model)
     VALUES ('https://s1.test/b', 1, 'the same vector, another model', 's1', '$(vec 3)'::real[], 384, 'm2')" >/dev/null
in_scope() { # MODEL: the models of the top 2 for vec 3
	sql "SET pgkb.search_model = '$1'" >/dev/null
	sql "SELECT string_agg(c.embedding_model, ' ' ORDER BY c.embedding_model) FROM match_archon_crawled_pages_multi(
	       pgkb.to_embedding('$(vec 3)'), 384, 2) m JOIN archon_crawled_pages c USING (id)"
}
assert_eq "$(in_scope m2)" "m2" "pgvector variant: pgkb.search_model = m2 ranks only m2's vectors"
assert_eq "$(in_scope m1)" "m1 m1" "... and m1 only m1's"
sql "RESET pgkb.search_model" >/dev/null
finish
