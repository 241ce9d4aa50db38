-- Archon's search functions over chunks and code examples, in whichever embedding variant 010 chose.
--
--   match_archon_crawled_pages_multi(query_embedding, embedding_dimension, match_count, filter, source_filter)
--   hybrid_search_archon_crawled_pages_multi(query_embedding, embedding_dimension, query_text, match_count,
--                                            filter, source_filter)
--   match_archon_code_examples_multi, hybrid_search_archon_code_examples_multi: the same over code examples
--   match_archon_crawled_pages, hybrid_search_archon_crawled_pages, match_archon_code_examples,
--   hybrid_search_archon_code_examples: Archon's older names without embedding_dimension (Archon v1's server
--   still calls these); pgkb takes the dimension from the query embedding instead of assuming 1536.
--
-- Parameter names, defaults and result columns are Archon's. query_embedding is vector in the pgvector variant and
-- real[] in the array variant; SQL that must run on both passes pgkb.to_embedding($1::real[]).
-- Similarity is cosine similarity (1 - cosine distance). The array variant scans exactly; the pgvector variant
-- walks the HNSW index (approximate; with pgvector 0.8+ an iterative scan, so filters and candidate counts above
-- hnsw.ef_search still fill the LIMIT; with older versions at most hnsw.ef_search rows, 40 by default, before
-- filtering).
--
-- Hybrid search ranks by reciprocal rank fusion instead of comparing raw scores: up to pgkb.rrf_candidates(n)
-- candidates from each ranking (vector similarity; ts_rank_cd over websearch_to_tsquery('english', query_text)),
-- score = sum over the rankings that hold the row of 1 / (60 + rank). The similarity column is that score scaled
-- by 61/2, so 1.0 means first in both rankings and the rows come out in similarity order. match_type: 'hybrid'
-- (found by both), 'vector' or 'keyword'. A NULL query_embedding makes it a keyword search; a query_text without
-- search terms makes it a vector search.
--
-- The function definitions live in pgkb.install_search_functions(), which 012 runs once and
-- pgkb.enable_pgvector() runs again after switching a database to pgvector.

-- Array variant: cosine similarity of two real[] vectors; NULL when their lengths differ or a norm is zero.
-- LANGUAGE sql over unnest WITH ORDINALITY measured about 1.5x faster than a plpgsql loop
-- (20,000 rows x 384 dimensions: ~1.2 s against ~1.9 s of CPU for one exact top-10 scan on one core).
CREATE OR REPLACE FUNCTION pgkb.cosine_similarity(a real[], b real[]) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT sum(x::float8 * b[i]) / nullif(sqrt(sum(x::float8 * x)) * sqrt(sum(b[i]::float8 * b[i])), 0)
	  FROM unnest(a) WITH ORDINALITY AS u(x, i)
	 WHERE cardinality(a) = cardinality(b)
$$;

-- The same with b's norm given (computed once per search instead of once per row: ~25% less CPU).
CREATE OR REPLACE FUNCTION pgkb.cosine_similarity(a real[], b real[], b_norm double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT sum(x::float8 * b[i]) / nullif(sqrt(sum(x::float8 * x)) * b_norm, 0)
	  FROM unnest(a) WITH ORDINALITY AS u(x, i)
	 WHERE cardinality(a) = cardinality(b)
$$;

CREATE OR REPLACE FUNCTION pgkb.l2_norm(v real[]) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT sqrt(sum(x::float8 * x)) FROM unnest(v) AS u(x) $$;

-- How many candidates each ranking contributes to a hybrid search returning match_count rows.
CREATE OR REPLACE FUNCTION pgkb.rrf_candidates(match_count integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT least(greatest(match_count * 4, 40), 1000) $$;

-- Raises unless dimension has an embedding column and q (when given) has that many elements.
CREATE OR REPLACE FUNCTION pgkb.check_query_embedding(q real[], dimension integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF dimension IS NULL OR NOT dimension = ANY (pgkb.embedding_dimensions()) THEN
		RAISE EXCEPTION 'Unsupported embedding dimension: %', coalesce(dimension::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'supported dimensions: 384, 768, 1024, 1536, 3072';
	END IF;
	IF q IS NOT NULL AND (array_ndims(q) IS DISTINCT FROM 1 OR cardinality(q) <> dimension) THEN
		RAISE EXCEPTION 'pgkb: query_embedding has % dimensions, embedding_dimension is %',
			coalesce(cardinality(q), 0), dimension USING ERRCODE = 'invalid_parameter_value';
	END IF;
END;
$$;

-- The SQL of the vector ranking over one table: rows (id, sim) best first. Its parameters: $1 the query
-- embedding, $2 how many rows, $3 the metadata filter, $4 the source filter, $5 the query's norm (array variant).
CREATE OR REPLACE FUNCTION pgkb.vector_topk_sql(variant text, tbl text, dimension integer) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
	col text := 'embedding_' || dimension;
	ext text;
	dist text;
BEGIN
	IF variant = 'array' THEN
		RETURN format('SELECT c.id, pgkb.cosine_similarity(c.%1$I, $1, $5) AS sim FROM public.%2$I c'
		              ' WHERE c.%1$I IS NOT NULL AND c.metadata @> $3 AND ($4 IS NULL OR c.source_id = $4)'
		              ' ORDER BY sim DESC, c.id LIMIT $2', col, tbl);
	END IF;
	SELECT n.nspname INTO ext
	  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
	 WHERE e.extname = 'vector';
	IF dimension > 2000 AND to_regclass(format('public.%I', 'idx_' || tbl || '_' || col || '_hnsw')) IS NOT NULL THEN
		-- the index is on the halfvec cast: order by the same expression so the planner uses it
		dist := format('(c.%1$I::%2$I.halfvec(%3$s)) OPERATOR(%2$I.<=>) ($1::%2$I.halfvec(%3$s))', col, ext, dimension);
	ELSE
		dist := format('c.%1$I OPERATOR(%2$I.<=>) $1', col, ext);
	END IF;
	RETURN format('SELECT c.id, 1 - (c.%1$I OPERATOR(%2$I.<=>) $1) AS sim FROM public.%3$I c'
	              ' WHERE c.%1$I IS NOT NULL AND c.metadata @> $3 AND ($4 IS NULL OR c.source_id = $4)'
	              ' ORDER BY %4$s LIMIT $2', col, ext, tbl, dist);
END;
$$;

-- (Re)creates the search functions for the database's current variant (pgkb.embedding_backend()).
CREATE OR REPLACE FUNCTION pgkb.install_search_functions() RETURNS text
LANGUAGE plpgsql AS $install$
DECLARE
	variant text := pgkb.embedding_backend();
	qtype text := 'real[]';
	f regprocedure;
	tbl text;
	summary_decl text;
	summary_col text;
	ddl text;
	fn_set text := '';
	-- Placeholders: @QTYPE@ query embedding type, @VARIANT@, @TBL@ table, @SUMMARY_DECL@ / @SUMMARY_COL@ the
	-- code examples' extra result column, @NAME@ the function name stem, @SET@ settings for the search.
	tpl_match constant text := $tpl$
CREATE FUNCTION public.match_@NAME@_multi(
	query_embedding @QTYPE@,
	embedding_dimension integer,
	match_count integer DEFAULT 10,
	filter jsonb DEFAULT '{}'::jsonb,
	source_filter text DEFAULT NULL)
RETURNS TABLE (id bigint, url varchar, chunk_number integer, content text, @SUMMARY_DECL@ metadata jsonb,
               source_id text, similarity double precision)
LANGUAGE plpgsql STABLE @SET@ AS $fn$
DECLARE
	q real[] := query_embedding::real[];
BEGIN
	PERFORM pgkb.check_query_embedding(q, embedding_dimension);
	IF q IS NULL OR coalesce(match_count, 0) < 1 THEN
		RETURN;
	END IF;
	RETURN QUERY EXECUTE format(
		'SELECT c.id, c.url, c.chunk_number, c.content, @SUMMARY_COL@ c.metadata, c.source_id, v.sim'
		' FROM (%s) v JOIN public.@TBL@ c ON c.id = v.id ORDER BY v.sim DESC, c.id',
		pgkb.vector_topk_sql('@VARIANT@', '@TBL@', embedding_dimension))
	USING query_embedding, match_count, coalesce(filter, '{}'::jsonb), source_filter,
	      CASE WHEN '@VARIANT@' = 'array' THEN pgkb.l2_norm(q) END;
END;
$fn$;
$tpl$;
	tpl_hybrid constant text := $tpl$
CREATE FUNCTION public.hybrid_search_@NAME@_multi(
	query_embedding @QTYPE@,
	embedding_dimension integer,
	query_text text,
	match_count integer DEFAULT 10,
	filter jsonb DEFAULT '{}'::jsonb,
	source_filter text DEFAULT NULL)
RETURNS TABLE (id bigint, url varchar, chunk_number integer, content text, @SUMMARY_DECL@ metadata jsonb,
               source_id text, similarity double precision, match_type text)
LANGUAGE plpgsql STABLE @SET@ AS $fn$
DECLARE
	q real[] := query_embedding::real[];
	tsq tsquery := websearch_to_tsquery('english', coalesce(query_text, ''));
	vec_sql text := 'SELECT NULL::bigint AS id, NULL::float8 AS sim WHERE false';
BEGIN
	PERFORM pgkb.check_query_embedding(q, embedding_dimension);
	IF coalesce(match_count, 0) < 1 THEN
		RETURN;
	END IF;
	IF q IS NOT NULL THEN
		vec_sql := pgkb.vector_topk_sql('@VARIANT@', '@TBL@', embedding_dimension);
	END IF;
	IF numnode(tsq) = 0 THEN
		tsq := NULL;  -- no search terms (empty, or stop words only): no keyword ranking
	END IF;
	RETURN QUERY EXECUTE format($q$
		WITH vec AS (
			SELECT v.id, row_number() OVER (ORDER BY v.sim DESC, v.id) AS r FROM (%s) v
		), kw AS (
			SELECT t.id, row_number() OVER (ORDER BY t.rank DESC, t.id) AS r
			  FROM (SELECT c.id, ts_rank_cd(c.content_search_vector, $6) AS rank
			          FROM public.@TBL@ c
			         WHERE c.content_search_vector @@ $6 AND c.metadata @> $3
			           AND ($4 IS NULL OR c.source_id = $4)
			         ORDER BY rank DESC, c.id
			         LIMIT $2) t
		), fused AS (
			SELECT coalesce(vec.id, kw.id) AS id, vec.r AS vr, kw.r AS kr,
			       coalesce(1.0::float8 / (60 + vec.r), 0) + coalesce(1.0::float8 / (60 + kw.r), 0) AS score
			  FROM vec FULL JOIN kw ON kw.id = vec.id
		)
		SELECT c.id, c.url, c.chunk_number, c.content, @SUMMARY_COL@ c.metadata, c.source_id,
		       f.score * 61 / 2 AS similarity,
		       CASE WHEN f.vr IS NOT NULL AND f.kr IS NOT NULL THEN 'hybrid'
		            WHEN f.vr IS NOT NULL THEN 'vector'
		            ELSE 'keyword' END AS match_type
		  FROM fused f JOIN public.@TBL@ c ON c.id = f.id
		 ORDER BY f.score DESC, least(f.vr, f.kr), c.id
		 LIMIT $7 $q$, vec_sql)
	USING query_embedding, pgkb.rrf_candidates(match_count), coalesce(filter, '{}'::jsonb), source_filter,
	      CASE WHEN '@VARIANT@' = 'array' THEN pgkb.l2_norm(q) END, tsq, match_count;
END;
$fn$;
$tpl$;
	tpl_legacy constant text := $tpl$
CREATE FUNCTION public.match_@NAME@(
	query_embedding @QTYPE@,
	match_count integer DEFAULT 10,
	filter jsonb DEFAULT '{}'::jsonb,
	source_filter text DEFAULT NULL)
RETURNS TABLE (id bigint, url varchar, chunk_number integer, content text, @SUMMARY_DECL@ metadata jsonb,
               source_id text, similarity double precision)
LANGUAGE sql STABLE AS $fn$
	SELECT * FROM public.match_@NAME@_multi(query_embedding,
		coalesce(cardinality(query_embedding::real[]), 1536), match_count, filter, source_filter)
$fn$;
CREATE FUNCTION public.hybrid_search_@NAME@(
	query_embedding @QTYPE@,
	query_text text,
	match_count integer DEFAULT 10,
	filter jsonb DEFAULT '{}'::jsonb,
	source_filter text DEFAULT NULL)
RETURNS TABLE (id bigint, url varchar, chunk_number integer, content text, @SUMMARY_DECL@ metadata jsonb,
               source_id text, similarity double precision, match_type text)
LANGUAGE sql STABLE AS $fn$
	SELECT * FROM public.hybrid_search_@NAME@_multi(query_embedding,
		coalesce(cardinality(query_embedding::real[]), 1536), query_text, match_count, filter, source_filter)
$fn$;
$tpl$;
BEGIN
	IF variant = 'pgvector' THEN
		SELECT format('%I.vector', n.nspname) INTO qtype
		  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
		 WHERE e.extname = 'vector';
		-- pgvector 0.8+: let an HNSW scan go on past hnsw.ef_search until the LIMIT is met after filtering
		-- (metadata, source), instead of returning fewer rows. Results come nearly in order; the functions
		-- sort them again.
		EXECUTE format('SELECT %L::%s', '[1]', qtype);  -- loads pgvector, so its settings are known
		IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'hnsw.iterative_scan') THEN
			fn_set := 'SET hnsw.iterative_scan = relaxed_order';
		END IF;
	END IF;

	-- Drop every earlier version (either variant, or Archon's own) so parameter types may change.
	FOR f IN
		SELECT p.oid::regprocedure FROM pg_proc p
		 WHERE (p.pronamespace = 'public'::regnamespace AND p.proname IN (
		        'match_archon_crawled_pages_multi', 'match_archon_code_examples_multi',
		        'hybrid_search_archon_crawled_pages_multi', 'hybrid_search_archon_code_examples_multi',
		        'match_archon_crawled_pages', 'match_archon_code_examples',
		        'hybrid_search_archon_crawled_pages', 'hybrid_search_archon_code_examples',
		        'detect_embedding_dimension'))
		    OR (p.pronamespace = 'pgkb'::regnamespace AND p.proname = 'to_embedding')
	LOOP
		EXECUTE format('DROP FUNCTION %s', f);
	END LOOP;

	FOREACH tbl IN ARRAY ARRAY['archon_crawled_pages', 'archon_code_examples'] LOOP
		summary_decl := CASE WHEN tbl = 'archon_code_examples' THEN 'summary text,' ELSE '' END;
		summary_col := CASE WHEN tbl = 'archon_code_examples' THEN 'c.summary,' ELSE '' END;
		FOREACH ddl IN ARRAY ARRAY[tpl_match, tpl_hybrid, tpl_legacy] LOOP
			ddl := replace(ddl, '@QTYPE@', qtype);
			ddl := replace(ddl, '@VARIANT@', variant);
			ddl := replace(ddl, '@TBL@', tbl);
			ddl := replace(ddl, '@NAME@', tbl);
			ddl := replace(ddl, '@SUMMARY_DECL@', summary_decl);
			ddl := replace(ddl, '@SUMMARY_COL@', summary_col);
			ddl := replace(ddl, '@SET@', fn_set);
			EXECUTE ddl;
		END LOOP;
	END LOOP;

	-- Archon's helper: the dimension of an embedding.
	EXECUTE format($ddl$
		CREATE FUNCTION public.detect_embedding_dimension(embedding_vector %s) RETURNS integer
		LANGUAGE sql IMMUTABLE AS 'SELECT cardinality(embedding_vector::real[])'$ddl$, qtype);
	-- pgkb: a real[] as the query-embedding type of this variant, so callers need not know the variant:
	--   SELECT * FROM match_archon_crawled_pages_multi(pgkb.to_embedding($1::real[]), 384, 10)
	-- (Writes need no helper: real[] is assignable to a vector column, so SET embedding_384 = $1::real[] works in
	-- both variants.)
	EXECUTE format($ddl$
		CREATE FUNCTION pgkb.to_embedding(v real[]) RETURNS %1$s
		LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT v::%1$s'$ddl$, qtype);
	RETURN variant;
END;
$install$;

-- Archon's helper: the embedding column for a dimension.
CREATE OR REPLACE FUNCTION public.get_embedding_column_name(dimension integer) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	PERFORM pgkb.check_query_embedding(NULL, dimension);
	RETURN 'embedding_' || dimension;
END;
$$;

-- Switches an array-variant database to pgvector after pgvector was installed on the server: creates the
-- extension (a superuser's right: pgvector is not a trusted extension), converts the embedding columns (rewriting
-- the tables, under an exclusive lock), builds the HNSW indexes and re-creates the search functions.
-- Returns the variant now in force.
CREATE OR REPLACE FUNCTION pgkb.enable_pgvector() RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	CREATE EXTENSION IF NOT EXISTS vector;
	PERFORM pgkb.embedding_columns_to_vector();
	RETURN pgkb.install_search_functions();
END;
$$;

DO $$ BEGIN PERFORM pgkb.install_search_functions(); END $$;

-- Administrative functions are the owner's (or a superuser's): a function is executable by PUBLIC unless
-- revoked, and these rewrite the search functions or the embedding columns.
REVOKE EXECUTE ON FUNCTION pgkb.enable_pgvector() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pgkb.install_search_functions() FROM PUBLIC;
