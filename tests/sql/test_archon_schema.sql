-- Assertions over migrations 010-020: Archon-compatible tables, both embedding variants, the search functions
-- (ranking, filters, reciprocal rank fusion), pgkb.documents and the host politeness protocol.
-- Run on a migrated database: psql -v ON_ERROR_STOP=1 -f tests/sql/test_archon_schema.sql
-- Every failed check raises an exception naming it. Uses only rows of its own sources ('pgkb-test-*', URLs under
-- https://pgkb.test/), removed before and after, so it may run on a database holding other data.

SET client_min_messages = warning;

CREATE FUNCTION pg_temp.ok(cond boolean, what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF cond IS NOT TRUE THEN
		RAISE EXCEPTION 'FAILED: %', what;
	END IF;
END $$;

-- A dim-long real[] that starts with the given weights and is zero elsewhere.
CREATE FUNCTION pg_temp.vec(dim integer, VARIADIC w double precision[]) RETURNS real[]
LANGUAGE sql IMMUTABLE AS $$
	SELECT array_agg(coalesce(w[i], 0)::real ORDER BY i) FROM generate_series(1, dim) AS i
$$;

-- Raises unless sql fails with an error message containing msg.
CREATE FUNCTION pg_temp.fails(sql text, msg text, what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		EXECUTE sql;
	EXCEPTION WHEN OTHERS THEN
		IF position(msg IN SQLERRM) > 0 THEN
			RETURN;
		END IF;
		RAISE EXCEPTION 'FAILED: % (wrong error: %)', what, SQLERRM;
	END;
	RAISE EXCEPTION 'FAILED: % (no error)', what;
END $$;

DELETE FROM archon_sources WHERE source_id LIKE 'pgkb-test-%';
DELETE FROM pgkb.host_politeness WHERE host LIKE '%.pgkb.test';

-- Tables, columns, types -------------------------------------------------------------------------------------
DO $$
DECLARE
	want text[][] := ARRAY[
		['archon_settings', 'id:uuid key:character varying value:text encrypted_value:text is_encrypted:boolean category:character varying description:text created_at:timestamp with time zone updated_at:timestamp with time zone'],
		['archon_sources', 'source_id:text source_url:text source_display_name:text summary:text total_word_count:integer title:text metadata:jsonb created_at:timestamp with time zone updated_at:timestamp with time zone'],
		['archon_page_metadata', 'id:uuid source_id:text url:text full_content:text section_title:text section_order:integer word_count:integer char_count:integer chunk_count:integer created_at:timestamp with time zone updated_at:timestamp with time zone metadata:jsonb'],
		['archon_crawled_pages', 'id:bigint url:character varying chunk_number:integer content:text metadata:jsonb source_id:text llm_chat_model:text embedding_model:text embedding_dimension:integer content_search_vector:tsvector created_at:timestamp with time zone page_id:uuid content_hash:text'],
		['archon_code_examples', 'id:bigint url:character varying chunk_number:integer content:text summary:text metadata:jsonb source_id:text llm_chat_model:text embedding_model:text embedding_dimension:integer content_search_vector:tsvector created_at:timestamp with time zone content_hash:text'],
		['archon_projects', 'id:uuid title:text description:text docs:jsonb features:jsonb data:jsonb github_repo:text pinned:boolean created_at:timestamp with time zone updated_at:timestamp with time zone'],
		['archon_tasks', 'id:uuid project_id:uuid parent_task_id:uuid title:text description:text status:task_status assignee:text task_order:integer priority:task_priority feature:text sources:jsonb code_examples:jsonb archived:boolean archived_at:timestamp with time zone archived_by:text created_at:timestamp with time zone updated_at:timestamp with time zone'],
		['archon_project_sources', 'id:uuid project_id:uuid source_id:text linked_at:timestamp with time zone created_by:text notes:text'],
		['archon_document_versions', 'id:uuid project_id:uuid task_id:uuid field_name:text version_number:integer content:jsonb change_summary:text change_type:text document_id:text created_by:text created_at:timestamp with time zone'],
		['archon_prompts', 'id:uuid prompt_name:text prompt:text description:text created_at:timestamp with time zone updated_at:timestamp with time zone'],
		['pgkb.documents', 'id:bigint source_id:text url:text kind:text status:text crawl_id:bigint depth:integer created_at:timestamp with time zone updated_at:timestamp with time zone fetched_at:timestamp with time zone ready_at:timestamp with time zone content_hash:text body:bytea content_type:text http_status:integer etag:text last_modified:text chunk_count:integer code_count:integer error:text'],
		['pgkb.crawls', 'id:bigint source_id:text root_url:text options:jsonb status:text job_id:bigint started_at:timestamp with time zone finished_at:timestamp with time zone error:text'],
		['pgkb.host_politeness', 'host:text next_allowed_at:timestamp with time zone leases:timestamp with time zone[] robots_delay_ms:integer updated_at:timestamp with time zone']];
	i integer;
	pair text;
	rel regclass;
	col text;
	typ text;
BEGIN
	FOR i IN 1 .. array_length(want, 1) LOOP
		rel := to_regclass(want[i][1]);
		PERFORM pg_temp.ok(rel IS NOT NULL, 'table ' || want[i][1] || ' exists');
		-- pairs are "name:type"; a type may hold spaces, a name may not
		FOREACH pair IN ARRAY regexp_split_to_array(want[i][2], ' (?=[a-z_0-9]+:)') LOOP
			col := split_part(pair, ':', 1);
			typ := substr(pair, length(col) + 2);
			PERFORM pg_temp.ok(
				(SELECT format_type(atttypid, NULL) FROM pg_attribute
				  WHERE attrelid = rel AND attname = col AND NOT attisdropped) = typ,
				format('%s.%s is %s (found %s)', want[i][1], col, typ,
				       (SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = rel AND attname = col)));
		END LOOP;
	END LOOP;
END $$;

-- Embedding columns follow the variant; the variant is recorded --------------------------------------------------
DO $$
DECLARE
	backend text := pgkb.embedding_backend();
	want text;
	tbl text;
	d integer;
BEGIN
	PERFORM pg_temp.ok(backend IN ('array', 'pgvector'), 'pgkb.embedding_backend() is array or pgvector');
	PERFORM pg_temp.ok(pgkb.vector_enabled() = (backend = 'pgvector'), 'pgkb.vector_enabled() agrees');
	PERFORM pg_temp.ok((backend = 'pgvector') = EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector')
	                   OR current_setting('pgkb.embedding_backend', true) = 'array',
	                   'pgvector variant exactly when the extension is installed');
	FOREACH tbl IN ARRAY ARRAY['archon_crawled_pages', 'archon_code_examples'] LOOP
		FOREACH d IN ARRAY ARRAY[384, 768, 1024, 1536, 3072] LOOP
			want := CASE backend WHEN 'pgvector' THEN format('vector(%s)', d) ELSE 'real[]' END;
			PERFORM pg_temp.ok(
				(SELECT format_type(atttypid, atttypmod) FROM pg_attribute
				  WHERE attrelid = ('public.' || tbl)::regclass AND attname = 'embedding_' || d) = want,
				format('%s.embedding_%s is %s', tbl, d, want));
			IF backend = 'pgvector' AND d <= 2000 THEN
				PERFORM pg_temp.ok(EXISTS (
					SELECT 1 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am am ON am.oid = i.relam
					 WHERE x.indrelid = ('public.' || tbl)::regclass AND am.amname = 'hnsw'
					   AND pg_get_indexdef(x.indexrelid) LIKE '%embedding_' || d || ' %vector_cosine_ops%'),
					format('HNSW cosine index on %s.embedding_%s', tbl, d));
			END IF;
		END LOOP;
	END LOOP;
	PERFORM pg_temp.ok(NOT EXISTS (
		SELECT 1 FROM pg_class i JOIN pg_am am ON am.oid = i.relam WHERE am.amname = 'ivfflat'
		   AND i.relname LIKE 'idx_archon_%'), 'no ivfflat index');
END $$;

-- Constraints and indexes -------------------------------------------------------------------------------------
DO $$
DECLARE
	tbl text;
BEGIN
	FOREACH tbl IN ARRAY ARRAY['archon_crawled_pages', 'archon_code_examples'] LOOP
		PERFORM pg_temp.ok(EXISTS (
			SELECT 1 FROM pg_constraint WHERE conrelid = ('public.' || tbl)::regclass AND contype = 'u'
			   AND pg_get_constraintdef(oid) = 'UNIQUE (url, chunk_number)'), tbl || ' UNIQUE (url, chunk_number)');
		PERFORM pg_temp.ok(EXISTS (
			SELECT 1 FROM pg_constraint WHERE conrelid = ('public.' || tbl)::regclass AND contype = 'f'
			   AND confrelid = 'public.archon_sources'::regclass AND confdeltype = 'c'),
			tbl || '.source_id references archon_sources ON DELETE CASCADE');
		PERFORM pg_temp.ok((SELECT attgenerated FROM pg_attribute WHERE attrelid = ('public.' || tbl)::regclass
		                     AND attname = 'content_search_vector') = 's', tbl || '.content_search_vector is generated');
		PERFORM pg_temp.ok(EXISTS (SELECT 1 FROM pg_indexes WHERE tablename = tbl
		                            AND indexdef LIKE '%USING gin (metadata)%'), tbl || ' GIN index on metadata');
		PERFORM pg_temp.ok(EXISTS (SELECT 1 FROM pg_indexes WHERE tablename = tbl
		                            AND indexdef LIKE '%USING gin (content_search_vector)%'), tbl || ' GIN index on the tsvector');
		PERFORM pg_temp.ok(EXISTS (SELECT 1 FROM pg_indexes WHERE tablename = tbl
		                            AND indexdef LIKE '%USING gin (content gin_trgm_ops)%'), tbl || ' trigram index on content');
	END LOOP;
	PERFORM pg_temp.ok(EXISTS (
		SELECT 1 FROM pg_constraint WHERE conrelid = 'public.archon_crawled_pages'::regclass AND contype = 'f'
		   AND confrelid = 'public.archon_page_metadata'::regclass AND confdeltype = 'n'),
		'archon_crawled_pages.page_id references archon_page_metadata ON DELETE SET NULL');
	PERFORM pg_temp.ok(EXISTS (
		SELECT 1 FROM pg_constraint WHERE conrelid = 'public.archon_page_metadata'::regclass
		   AND conname = 'archon_page_metadata_url_unique'), 'archon_page_metadata UNIQUE (url)');
	PERFORM pg_temp.ok(EXISTS (
		SELECT 1 FROM pg_constraint WHERE conrelid = 'pgkb.documents'::regclass AND contype = 'u'
		   AND pg_get_constraintdef(oid) = 'UNIQUE (source_id, url)'), 'pgkb.documents UNIQUE (source_id, url)');
	PERFORM pg_temp.ok(EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = 'pgkb' AND tablename = 'documents'
	                            AND indexdef LIKE '%(crawl_id, status)%'), 'pgkb.documents index on (crawl_id, status)');
	-- lookups by (source_id, url) must have no index on source_id alone to be planned onto (020)
	PERFORM pg_temp.ok(NOT EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = 'pgkb' AND tablename = 'documents'
	                                AND indexdef LIKE '%(source_id, status)%'), 'no pgkb.documents index on (source_id, status)');
	PERFORM pg_temp.ok(enum_range(NULL::task_status)::text = '{todo,doing,review,done}', 'task_status values');
	PERFORM pg_temp.ok(enum_range(NULL::task_priority)::text = '{low,medium,high,critical}', 'task_priority values');
	PERFORM pg_temp.ok(NOT EXISTS (SELECT 1 FROM pg_class WHERE relname LIKE 'archon_%' AND relkind = 'r'
	                                AND relrowsecurity), 'row-level security is off');
	FOREACH tbl IN ARRAY ARRAY['match_archon_crawled_pages_multi', 'hybrid_search_archon_crawled_pages_multi',
	                           'match_archon_code_examples_multi', 'hybrid_search_archon_code_examples_multi',
	                           'match_archon_crawled_pages', 'hybrid_search_archon_crawled_pages',
	                           'match_archon_code_examples', 'hybrid_search_archon_code_examples'] LOOP
		PERFORM pg_temp.ok((SELECT count(*) FROM pg_proc WHERE proname = tbl
		                     AND pronamespace = 'public'::regnamespace) = 1, 'exactly one function ' || tbl);
	END LOOP;
	PERFORM pg_temp.ok(
		(SELECT pg_get_function_arguments(oid) FROM pg_proc WHERE proname = 'hybrid_search_archon_crawled_pages_multi')
		= format('query_embedding %s, embedding_dimension integer, query_text text, match_count integer DEFAULT 10, '
		         'filter jsonb DEFAULT ''{}''::jsonb, source_filter text DEFAULT NULL::text',
		         CASE WHEN pgkb.vector_enabled() THEN 'vector' ELSE 'real[]' END),
		'hybrid_search_archon_crawled_pages_multi has Archon''s parameters');
	PERFORM pg_temp.ok(
		(SELECT pg_get_function_result(oid) FROM pg_proc WHERE proname = 'match_archon_code_examples_multi')
		= 'TABLE(id bigint, url character varying, chunk_number integer, content text, summary text, metadata jsonb, '
		  'source_id text, similarity double precision)', 'match_archon_code_examples_multi has Archon''s result columns');
END $$;

-- Fixtures ----------------------------------------------------------------------------------------------------
-- Query q = e1. Vector ranking over source pgkb-test-a: exact (= q), close (1.9, 0.6), mid (3, 4), far (2 e3),
-- of cosine similarity 1, 0.953581, 0.6 and 0 (not unit vectors: length must not matter); 'nokw' has no
-- embedding yet. Keyword query 'replication': close mentions it twice, keyword-only
-- once; so reciprocal rank fusion puts close (vector #2, keyword #1) above exact (vector #1 only), where a raw
-- score comparison would not.
INSERT INTO archon_sources (source_id, source_url, title) VALUES
	('pgkb-test-a', 'https://pgkb.test/a/', 'test source a'),
	('pgkb-test-b', 'https://pgkb.test/b/', 'test source b');
INSERT INTO archon_page_metadata (source_id, url, full_content, word_count, char_count)
VALUES ('pgkb-test-a', 'https://pgkb.test/a/page', 'whole page', 2, 10);
INSERT INTO archon_crawled_pages (url, chunk_number, content, metadata, source_id, page_id, embedding_384,
                                  embedding_model, embedding_dimension, content_hash)
SELECT 'https://pgkb.test/a/page', n, content, metadata::jsonb, 'pgkb-test-a',
       (SELECT id FROM archon_page_metadata WHERE url = 'https://pgkb.test/a/page'),
       emb, CASE WHEN emb IS NOT NULL THEN 'test-model' END, CASE WHEN emb IS NOT NULL THEN 384 END, md5(content)
  FROM (VALUES
	(0, 'Exact match: the vacuum process reclaims storage.', '{"lang": "en", "slot": "exact"}', pg_temp.vec(384, 1)),
	(1, 'Close: streaming replication and logical replication keep replicas current.', '{"lang": "en", "slot": "close"}',
	    pg_temp.vec(384, 1.9, 0.6)),
	(2, 'Middle: checkpoints write dirty buffers.', '{"lang": "de", "slot": "mid"}', pg_temp.vec(384, 3, 4)),
	(3, 'Far: kubernetes pods and deployments.', '{"lang": "en", "slot": "far"}', pg_temp.vec(384, 0, 0, 2)),
	(4, 'Keyword only: a chunk about replication slots, waiting for its embedding.', '{"lang": "en", "slot": "nokw"}',
	    NULL::real[])
  ) AS t(n, content, metadata, emb);
-- The same text and embedding as 'exact' in another source (at another URL).
INSERT INTO archon_crawled_pages (url, chunk_number, content, metadata, source_id, embedding_384, embedding_dimension)
VALUES ('https://pgkb.test/b/page', 0, 'Exact match: the vacuum process reclaims storage.', '{"slot": "b-exact"}',
        'pgkb-test-b', pg_temp.vec(384, 1), 384);
INSERT INTO archon_code_examples (url, chunk_number, content, summary, metadata, source_id, embedding_384,
                                  embedding_dimension)
VALUES
	('https://pgkb.test/a/page', 0, 'SELECT pg_start_backup(''x'');', 'Starts a base backup', '{"slot": "c-exact"}',
	 'pgkb-test-a', pg_temp.vec(384, 1), 384),
	('https://pgkb.test/a/page', 1, 'ALTER SYSTEM SET wal_level = logical;', 'Enables logical decoding', '{"slot": "c-far"}',
	 'pgkb-test-a', pg_temp.vec(384, 0, 1), 384);

-- Writes work the same in both variants: a real[] parameter is assignable to vector(n).
DO $$
BEGIN
	EXECUTE 'UPDATE archon_crawled_pages SET embedding_768 = $1 WHERE url = ''https://pgkb.test/b/page'''
		USING pg_temp.vec(768, 1);
	PERFORM pg_temp.ok((SELECT embedding_768 IS NOT NULL FROM archon_crawled_pages WHERE url = 'https://pgkb.test/b/page'),
	                   'a real[] parameter writes an embedding column');
	EXECUTE 'UPDATE archon_crawled_pages SET embedding_768 = NULL WHERE url = ''https://pgkb.test/b/page''';
	PERFORM pg_temp.fails($q$UPDATE archon_crawled_pages SET embedding_384 = pg_temp.vec(383, 1)
	                          WHERE url = 'https://pgkb.test/b/page'$q$, '', 'a 383-element array is refused by embedding_384');
	PERFORM pg_temp.ok((SELECT content_search_vector @@ to_tsquery('english', 'reclaim') FROM archon_crawled_pages
	                     WHERE url = 'https://pgkb.test/a/page' AND chunk_number = 0), 'the generated tsvector is filled');
END $$;

-- Vector search -----------------------------------------------------------------------------------------------
DO $$
DECLARE
	q real[] := pg_temp.vec(384, 1);
	slots text;
	first_sim double precision;
	n integer;
BEGIN
	SELECT string_agg(metadata->>'slot', ',' ORDER BY ord), min(similarity) FILTER (WHERE ord = 1)
	  INTO slots, first_sim
	  FROM match_archon_crawled_pages_multi(pgkb.to_embedding(q), 384, 10, '{}', 'pgkb-test-a') WITH ORDINALITY AS m(id, url, chunk_number, content, metadata, source_id, similarity, ord);
	PERFORM pg_temp.ok(slots = 'exact,close,mid,far', 'match_..._multi ranks by cosine similarity (got ' || slots || ')');
	PERFORM pg_temp.ok(abs(first_sim - 1) < 1e-6, 'the chunk equal to the query has similarity 1 (got ' || first_sim || ')');
	SELECT string_agg(round(similarity::numeric, 5)::text, ',' ORDER BY similarity DESC) INTO slots
	  FROM match_archon_crawled_pages_multi(pgkb.to_embedding(q), 384, 10, '{}', 'pgkb-test-a');
	PERFORM pg_temp.ok(slots = '1.00000,0.95358,0.60000,0.00000', 'similarity is cosine similarity (got ' || slots || ')');

	SELECT string_agg(metadata->>'slot', ',' ORDER BY similarity DESC) INTO slots
	  FROM match_archon_crawled_pages_multi(pgkb.to_embedding(q), 384, 2, '{}', 'pgkb-test-a');
	PERFORM pg_temp.ok(slots = 'exact,close', 'match_count limits the rows (got ' || slots || ')');

	SELECT string_agg(metadata->>'slot', ',') INTO slots
	  FROM match_archon_crawled_pages_multi(pgkb.to_embedding(q), 384, 10, '{"lang": "de"}', 'pgkb-test-a');
	PERFORM pg_temp.ok(slots = 'mid', 'the metadata filter applies (got ' || slots || ')');

	SELECT string_agg(metadata->>'slot', ',') INTO slots
	  FROM match_archon_crawled_pages_multi(pgkb.to_embedding(q), 384, 10, '{}', 'pgkb-test-b');
	PERFORM pg_temp.ok(slots = 'b-exact', 'the source filter applies (got ' || slots || ')');

	SELECT count(*) INTO n FROM match_archon_crawled_pages_multi(pgkb.to_embedding(q), 384, 10, NULL, 'pgkb-test-a');
	PERFORM pg_temp.ok(n = 4, 'a NULL filter matches everything');

	SELECT string_agg(metadata->>'slot', ',' ORDER BY similarity DESC) INTO slots
	  FROM match_archon_crawled_pages(pgkb.to_embedding(q), 10, '{}', 'pgkb-test-a');
	PERFORM pg_temp.ok(slots = 'exact,close,mid,far', 'legacy match_archon_crawled_pages takes the dimension from the query');

	SELECT string_agg(metadata->>'slot', ',' ORDER BY similarity DESC), max(similarity) INTO slots, first_sim
	  FROM match_archon_code_examples_multi(pgkb.to_embedding(q), 384, 10, '{}', 'pgkb-test-a');
	PERFORM pg_temp.ok(slots = 'c-exact,c-far' AND abs(first_sim - 1) < 1e-6, 'match_archon_code_examples_multi ranks (got ' || slots || ')');
	PERFORM pg_temp.ok((SELECT summary FROM match_archon_code_examples(pgkb.to_embedding(q), 1, '{}', 'pgkb-test-a'))
	                   = 'Starts a base backup', 'code example results carry the summary');

	PERFORM pg_temp.fails(format('SELECT * FROM match_archon_crawled_pages_multi(pgkb.to_embedding(%L::real[]), 768)', q),
	                      'query_embedding has 384 dimensions', 'a query of the wrong length is refused');
	PERFORM pg_temp.fails(format('SELECT * FROM match_archon_crawled_pages_multi(pgkb.to_embedding(%L::real[]), 512)', q),
	                      'Unsupported embedding dimension: 512', 'an unsupported dimension is refused');
	PERFORM pg_temp.ok(get_embedding_column_name(768) = 'embedding_768', 'get_embedding_column_name');
	PERFORM pg_temp.ok(detect_embedding_dimension(pgkb.to_embedding(q)) = 384, 'detect_embedding_dimension');
	PERFORM pg_temp.ok(abs(pgkb.cosine_similarity(pg_temp.vec(3, 1, 1), pg_temp.vec(3, 1, 0)) - sqrt(0.5)) < 1e-9
	                   AND pgkb.cosine_similarity(pg_temp.vec(3, 1), pg_temp.vec(4, 1)) IS NULL
	                   AND pgkb.cosine_similarity(pg_temp.vec(3, 0), pg_temp.vec(3, 1)) IS NULL,
	                   'pgkb.cosine_similarity: value, NULL on length mismatch and on a zero vector');
END $$;

-- Hybrid search: reciprocal rank fusion --------------------------------------------------------------------------
DO $$
DECLARE
	q real[] := pg_temp.vec(384, 1);
	got text;
	want text;
	r record;
BEGIN
	SELECT string_agg(format('%s:%s:%s', metadata->>'slot', match_type, round(similarity::numeric, 6)), ',' ORDER BY ord)
	  INTO got
	  FROM hybrid_search_archon_crawled_pages_multi(pgkb.to_embedding(q), 384, 'replication', 10, '{}', 'pgkb-test-a')
	       WITH ORDINALITY AS h(id, url, chunk_number, content, metadata, source_id, similarity, match_type, ord);

	-- The expected fusion, computed here from the two rankings independently of the function.
	WITH v AS (
		SELECT id, row_number() OVER (ORDER BY pgkb.cosine_similarity(embedding_384::real[], q) DESC, id) AS r
		  FROM archon_crawled_pages WHERE source_id = 'pgkb-test-a' AND embedding_384 IS NOT NULL
	), k AS (
		SELECT id, row_number() OVER (ORDER BY ts_rank_cd(content_search_vector, websearch_to_tsquery('english', 'replication')) DESC, id) AS r
		  FROM archon_crawled_pages WHERE source_id = 'pgkb-test-a'
		   AND content_search_vector @@ websearch_to_tsquery('english', 'replication')
	), f AS (
		SELECT coalesce(v.id, k.id) AS id, v.r AS vr, k.r AS kr,
		       coalesce(1.0 / (60 + v.r), 0) + coalesce(1.0 / (60 + k.r), 0) AS score
		  FROM v FULL JOIN k ON k.id = v.id
	)
	SELECT string_agg(format('%s:%s:%s', c.metadata->>'slot',
	                         CASE WHEN vr IS NOT NULL AND kr IS NOT NULL THEN 'hybrid' WHEN vr IS NOT NULL THEN 'vector' ELSE 'keyword' END,
	                         round(score * 61 / 2, 6)), ',' ORDER BY score DESC, least(vr, kr), c.id)
	  INTO want
	  FROM f JOIN archon_crawled_pages c ON c.id = f.id;

	PERFORM pg_temp.ok(got = want, format('hybrid ranking is RRF: got %s, want %s', got, want));
	PERFORM pg_temp.ok(got LIKE 'close:hybrid:%,exact:vector:%', 'fusion ranks close (vector #2 + keyword #1) above exact (vector #1): ' || got);
	PERFORM pg_temp.ok(got LIKE '%nokw:keyword:%', 'a keyword-only match (no embedding yet) comes back as keyword: ' || got);

	-- No vector side: a NULL embedding gives a keyword search.
	SELECT string_agg(DISTINCT match_type, ',') INTO got
	  FROM hybrid_search_archon_crawled_pages_multi(NULL, 384, 'replication', 10, '{}', 'pgkb-test-a');
	PERFORM pg_temp.ok(got = 'keyword', 'NULL query_embedding: keyword matches only (got ' || coalesce(got, 'nothing') || ')');

	-- No keyword side: stop words only give a vector search, in vector order.
	SELECT string_agg(metadata->>'slot' || ':' || match_type, ',' ORDER BY similarity DESC, id) INTO got
	  FROM hybrid_search_archon_crawled_pages_multi(pgkb.to_embedding(q), 384, 'the and of', 10, '{}', 'pgkb-test-a');
	PERFORM pg_temp.ok(got = 'exact:vector,close:vector,mid:vector,far:vector', 'stop-word query: vector ranking (got ' || got || ')');

	-- websearch syntax: "or" is a disjunction (plainto_tsquery would require both words).
	SELECT string_agg(metadata->>'slot' || ':' || match_type, ',' ORDER BY similarity DESC) INTO got
	  FROM hybrid_search_archon_crawled_pages_multi(pgkb.to_embedding(q), 384, 'checkpoints or kubernetes', 10, '{}', 'pgkb-test-a');
	PERFORM pg_temp.ok(got LIKE '%mid:hybrid%' AND got LIKE '%far:hybrid%', 'query_text is read as web search syntax (got ' || got || ')');

	-- A row first in both rankings scores 1.0.
	SELECT * INTO r FROM hybrid_search_archon_crawled_pages_multi(pgkb.to_embedding(q), 384, 'vacuum reclaims', 1, '{}', 'pgkb-test-a');
	PERFORM pg_temp.ok(r.metadata->>'slot' = 'exact' AND r.match_type = 'hybrid' AND abs(r.similarity - 1) < 1e-9,
	                   'first in both rankings: hybrid with similarity 1');

	SELECT string_agg(metadata->>'slot' || ':' || match_type, ',' ORDER BY similarity DESC) INTO got
	  FROM hybrid_search_archon_crawled_pages(pgkb.to_embedding(q), 'replication', 2, '{"lang": "en"}', 'pgkb-test-a');
	PERFORM pg_temp.ok(got = 'close:hybrid,exact:vector', 'legacy hybrid_search_archon_crawled_pages with a filter (got ' || got || ')');

	-- Code examples: the tsvector covers the summary too.
	SELECT string_agg(metadata->>'slot' || ':' || match_type, ',' ORDER BY similarity DESC) INTO got
	  FROM hybrid_search_archon_code_examples_multi(pgkb.to_embedding(q), 384, 'logical decoding', 10, '{}', 'pgkb-test-a');
	PERFORM pg_temp.ok(got = 'c-far:hybrid,c-exact:vector', 'hybrid over code examples fuses summary matches (got ' || got || ')');
	PERFORM pg_temp.ok((SELECT count(*) FROM hybrid_search_archon_code_examples(pgkb.to_embedding(q), 'backup', 10, '{}', 'pgkb-test-a')) = 2,
	                   'legacy hybrid_search_archon_code_examples');
END $$;

-- Cascades -----------------------------------------------------------------------------------------------------
DO $$
BEGIN
	DELETE FROM archon_page_metadata WHERE url = 'https://pgkb.test/a/page';
	PERFORM pg_temp.ok((SELECT count(*) FROM archon_crawled_pages WHERE source_id = 'pgkb-test-a' AND page_id IS NULL) = 5,
	                   'deleting a page keeps its chunks with page_id NULL');
END $$;

-- pgkb.documents and pgkb.crawls -----------------------------------------------------------------------------
DO $$
DECLARE
	crawl1 bigint;
	crawl2 bigint;
	n integer;
BEGIN
	INSERT INTO pgkb.crawls (source_id, root_url, job_id) VALUES ('pgkb-test-a', 'https://pgkb.test/a/', -1)
	RETURNING id INTO crawl1;
	-- a retried crawl job finds its crawl
	INSERT INTO pgkb.crawls (source_id, root_url, job_id) VALUES ('pgkb-test-a', 'https://pgkb.test/a/', -1)
	ON CONFLICT (job_id) DO UPDATE SET status = 'running', finished_at = NULL RETURNING id INTO crawl2;
	PERFORM pg_temp.ok(crawl1 = crawl2, 'a crawl is found again by its job id');

	-- claiming discovered URLs: only rows new to this crawl come back
	WITH claimed AS (
		INSERT INTO pgkb.documents (source_id, url, crawl_id, depth)
		VALUES ('pgkb-test-a', 'https://pgkb.test/a/', crawl1, 0), ('pgkb-test-a', 'https://pgkb.test/a/x', crawl1, 1)
		ON CONFLICT (source_id, url) DO UPDATE SET crawl_id = EXCLUDED.crawl_id, depth = EXCLUDED.depth, status = 'queued'
		WHERE pgkb.documents.crawl_id IS DISTINCT FROM EXCLUDED.crawl_id
		RETURNING id)
	SELECT count(*) INTO n FROM claimed;
	PERFORM pg_temp.ok(n = 2, 'discovery claims new URLs');
	WITH claimed AS (
		INSERT INTO pgkb.documents (source_id, url, crawl_id, depth)
		VALUES ('pgkb-test-a', 'https://pgkb.test/a/x', crawl1, 1), ('pgkb-test-a', 'https://pgkb.test/a/y', crawl1, 2)
		ON CONFLICT (source_id, url) DO UPDATE SET crawl_id = EXCLUDED.crawl_id, depth = EXCLUDED.depth, status = 'queued'
		WHERE pgkb.documents.crawl_id IS DISTINCT FROM EXCLUDED.crawl_id
		RETURNING id)
	SELECT count(*) INTO n FROM claimed;
	PERFORM pg_temp.ok(n = 1, 'rediscovering a URL in the same crawl claims nothing');

	UPDATE pgkb.documents SET status = 'fetched', body = '\x3c68746d6c3e00ff'::bytea, http_status = 200,
	       fetched_at = now() WHERE url = 'https://pgkb.test/a/x';
	PERFORM pg_temp.ok((SELECT length(body) = 8 AND updated_at >= created_at FROM pgkb.documents
	                     WHERE url = 'https://pgkb.test/a/x'), 'a body of any bytes is stored');
	PERFORM pg_temp.ok((SELECT queued = 2 AND fetched = 1 AND documents = 3 FROM pgkb.crawl_progress WHERE crawl_id = crawl1),
	                   'crawl progress counts documents by status');
	PERFORM pg_temp.fails($q$UPDATE pgkb.documents SET status = 'done' WHERE source_id = 'pgkb-test-a'$q$,
	                      'documents_status', 'an unknown document status is refused');
	PERFORM pg_temp.fails($q$INSERT INTO pgkb.documents (source_id, url, kind) VALUES ('pgkb-test-a', 'z', 'blob')$q$,
	                      'documents_kind', 'an unknown document kind is refused');
	PERFORM pg_temp.fails($q$INSERT INTO pgkb.documents (source_id, url) VALUES ('pgkb-test-nope', 'z')$q$,
	                      'foreign key', 'a document needs its source');
	PERFORM pg_temp.fails(format('UPDATE pgkb.crawls SET status = %L WHERE id = %s', 'done', crawl1),
	                      'crawls_finished', 'a finished crawl needs finished_at');
	UPDATE pgkb.crawls SET status = 'done', finished_at = now() WHERE id = crawl1;
END $$;

-- Host politeness ---------------------------------------------------------------------------------------------
DO $$
DECLARE
	r record;
	t1 timestamptz;
	t2 timestamptz;
BEGIN
	-- delay: a second request right away is refused and told when to come back
	SELECT * INTO r FROM pgkb.host_reserve('slow.pgkb.test', 60000, 4, 30000);
	PERFORM pg_temp.ok(r.granted AND r.token IS NOT NULL AND r.in_flight = 1, 'first reservation of a host is granted');
	t1 := r.token;
	SELECT * INTO r FROM pgkb.host_reserve('slow.pgkb.test', 60000, 4, 30000);
	PERFORM pg_temp.ok(NOT r.granted AND r.token IS NULL AND r.next_allowed_at > clock_timestamp() + interval '50 seconds',
	                   'the delay refuses a second request and says until when');
	PERFORM pg_temp.ok(pgkb.host_release('slow.pgkb.test', t1, 0), 'release of a live lease');
	PERFORM pg_temp.ok((SELECT leases = '{}' FROM pgkb.host_politeness WHERE host = 'slow.pgkb.test'), 'release frees the slot');

	-- concurrency: two slots, no delay
	SELECT token INTO t1 FROM pgkb.host_reserve('busy.pgkb.test', 0, 2, 30000);
	SELECT token INTO t2 FROM pgkb.host_reserve('busy.pgkb.test', 0, 2, 30000);
	SELECT * INTO r FROM pgkb.host_reserve('busy.pgkb.test', 0, 2, 30000);
	PERFORM pg_temp.ok(t1 IS NOT NULL AND t2 IS NOT NULL AND t1 <> t2 AND NOT r.granted AND r.in_flight = 2,
	                   'max_in_flight refuses a third request');
	PERFORM pgkb.host_release('busy.pgkb.test', t1);
	SELECT * INTO r FROM pgkb.host_reserve('busy.pgkb.test', 0, 2, 30000);
	PERFORM pg_temp.ok(r.granted AND r.in_flight = 2, 'a released slot is granted again');

	-- a lease whose holder died expires by itself
	SELECT * INTO r FROM pgkb.host_reserve('crash.pgkb.test', 0, 1, 5);
	PERFORM pg_sleep(0.02);
	SELECT * INTO r FROM pgkb.host_reserve('crash.pgkb.test', 0, 1, 30000);
	PERFORM pg_temp.ok(r.granted AND r.in_flight = 1, 'an expired lease frees its slot');
	PERFORM pg_temp.ok(NOT pgkb.host_release('crash.pgkb.test', clock_timestamp() - interval '1 second'),
	                   'releasing an expired lease says so');

	-- Retry-After pushes the host back; robots Crawl-delay raises the delay
	PERFORM pgkb.host_release('crash.pgkb.test', r.token, 120000);
	SELECT * INTO r FROM pgkb.host_reserve('crash.pgkb.test', 0, 1, 30000);
	PERFORM pg_temp.ok(NOT r.granted AND r.next_allowed_at > clock_timestamp() + interval '100 seconds', 'Retry-After backs off');
	UPDATE pgkb.host_politeness SET robots_delay_ms = 90000, next_allowed_at = '-infinity' WHERE host = 'crash.pgkb.test';
	SELECT * INTO r FROM pgkb.host_reserve('crash.pgkb.test', 0, 5, 30000);
	PERFORM pg_temp.ok(r.granted AND r.next_allowed_at > clock_timestamp() + interval '80 seconds', 'robots Crawl-delay is obeyed');
	PERFORM pg_temp.fails($q$SELECT pgkb.host_reserve('', 0, 1, 1000)$q$, 'bad argument', 'an empty host is refused');
END $$;

-- Projects ----------------------------------------------------------------------------------------------------
DO $$
DECLARE
	p uuid;
	t uuid;
BEGIN
	INSERT INTO archon_projects (title) VALUES ('pgkb-test project') RETURNING id INTO p;
	INSERT INTO archon_tasks (project_id, title) VALUES (p, 'parent') RETURNING id INTO t;
	INSERT INTO archon_tasks (project_id, parent_task_id, title) VALUES (p, t, 'child');
	PERFORM pg_temp.ok(archive_task(t, 'tester'), 'archive_task archives a task');
	PERFORM pg_temp.ok(NOT archive_task(t), 'archive_task of an archived task returns false');
	PERFORM pg_temp.ok((SELECT bool_and(archived) AND bool_and(archived_by = 'tester') FROM archon_tasks WHERE project_id = p),
	                   'archive_task archives subtasks');
	PERFORM pg_temp.fails(format('INSERT INTO archon_tasks (project_id, title, assignee) VALUES (%L, %L, %L)', p, 'x', ''),
	                      'check constraint', 'an empty assignee is refused');
	DELETE FROM archon_projects WHERE id = p;
END $$;

-- Deleting a source removes everything under it.
DO $$
BEGIN
	DELETE FROM archon_sources WHERE source_id LIKE 'pgkb-test-%';
	PERFORM pg_temp.ok(NOT EXISTS (SELECT 1 FROM archon_crawled_pages WHERE url LIKE 'https://pgkb.test/%')
	                   AND NOT EXISTS (SELECT 1 FROM archon_code_examples WHERE url LIKE 'https://pgkb.test/%')
	                   AND NOT EXISTS (SELECT 1 FROM pgkb.documents WHERE source_id LIKE 'pgkb-test-%')
	                   AND NOT EXISTS (SELECT 1 FROM pgkb.crawls WHERE source_id LIKE 'pgkb-test-%'),
	                   'deleting a source cascades to chunks, code examples, documents and crawls');
END $$;
DELETE FROM pgkb.host_politeness WHERE host LIKE '%.pgkb.test';

SELECT 'archon schema: all checks passed (' || pgkb.embedding_backend() || ' variant)' AS result;
