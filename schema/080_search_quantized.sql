-- Array variant: fast vector search without pgvector, by quantised candidates and an exact re-rank.
--
-- The exact scan of 012 computes pgkb.cosine_similarity in SQL for every row in scope (~60 µs a row at 384
-- dimensions: ~0.5 s on the 8,230 chunks of the PostgreSQL docs). Here every real[] embedding column gets a
-- companion embedding_N_bits: a bit string computed from the vector by an IMMUTABLE function, as a STORED
-- generated column, so it is written in the same INSERT or UPDATE as the vector (no writer changes, no second pass).
--
-- The bits: six planes of N bits each, [x > 0 | x < 0 | x > t | x < -t | x > 2t | x < -2t], where t is the mean |x|
-- over the vector's non-zero elements. Read back, each element is one of -3..3 (three magnitude levels and a sign;
-- zero stays zero, which matters for sparse embeddings such as the builtin one). Plain sign bits compared by Hamming
-- distance were measured first: recall@10 ~0.2 at 400 candidates for the builtin embedder (a short query is sparse,
-- most of its signs are noise), hence an asymmetric estimate: the query's own values against the row's levels.
-- Two levels instead of three needed twice the re-ranked candidates for the same recall (offline, 300 queries).
--
-- A search (pgkb.vector_topk_sql, replaced here) then runs three stages:
--   1. over every row in scope, an estimate of the dot product from two AND + bit_count pairs (the query's signs
--      against the row's planes; the masks are computed once per query, folded into constants by the planner),
--      divided by the square root of the row's bit count (its quantised L1 norm, close enough here); keeps 1000;
--   2. over those, a finer estimate with the query's magnitudes in four bands; keeps the best 100;
--   3. exact cosine similarity (012's function, ~60 µs a row) over those 100; the best match_count are returned.
-- Stage 1 reads only (source_id, id, bits), which a partial covering index holds, so on a large table it is an
-- index-only scan of a few MB instead of the heap with its content and TOASTed vectors. A metadata filter other than
-- '{}' (an empty filter means no filter here) needs the heap.
-- Recall@10 against the exact ranking is reported by bench/search.sh (builtin embedder and a dense stand-in).
--
-- pgkb.enable_pgvector (replaced here) drops these columns and indexes before converting the vectors: pgvector's
-- HNSW index does this job in that variant, and a generated column would block the column type change.

-- The quantised planes of a vector (6 x cardinality(v) bits). One pass writes a letter per element, A (x < -2t)
-- to G (x > 2t) with D for zero; translate() turns the letters into each plane. This runs on every write of a
-- vector: measured ~2x faster than the same as one SQL statement (whose nested subqueries plan badly) and several
-- times faster than one string_agg over (plane, element) pairs, which sorts 6N rows.
CREATE OR REPLACE FUNCTION pgkb.embedding_bits(v real[]) RETURNS varbit
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
	t float8;
	s text;
BEGIN
	SELECT avg(abs(e)) FILTER (WHERE e <> 0) INTO t FROM unnest(v) AS e;
	s := array_to_string(ARRAY(
		SELECT CASE WHEN x < -2 * t THEN 'A' WHEN x < -t THEN 'B' WHEN x < 0 THEN 'C' WHEN x = 0 THEN 'D'
		            WHEN x <= t THEN 'E' WHEN x <= 2 * t THEN 'F' ELSE 'G' END
		  FROM unnest(v) AS x), '');
	RETURN (translate(s, 'ABCDEFG', '0000111') || translate(s, 'ABCDEFG', '1110000') ||
	        translate(s, 'ABCDEFG', '0000011') || translate(s, 'ABCDEFG', '1100000') ||
	        translate(s, 'ABCDEFG', '0000001') || translate(s, 'ABCDEFG', '1000000'))::varbit;
END;
$$;

-- A query's mask over a row's planes: set on the planes that agree in sign with q (a row's x > 0 planes where q > 0,
-- its x < 0 planes where q < 0), for the elements whose |q| reaches band `tier` of `tiers` equal bands of max|q|
-- (tier 1: every non-zero element). bit_count(bits & mask) - bit_count(bits & pgkb.embedding_mask_flip(mask))
-- sums, over those elements, sign(q) times the row's quantised value; summed over the tiers it weights each
-- element by its band.
CREATE OR REPLACE FUNCTION pgkb.embedding_query_mask(q real[], tier integer, tiers integer) RETURNS varbit
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
-- plpgsql, not sql: the planner folds ten of these per search, and plpgsql keeps its statements' plans for the
-- session where a sql function is parsed and planned again at every call (~25 ms of planning per search, measured)
DECLARE
	m float8;
	s text;
	p text;
	n text;
BEGIN
	SELECT nullif(max(abs(e)), 0) INTO m FROM unnest(q) AS e;
	s := array_to_string(ARRAY(
		SELECT CASE WHEN x = 0 OR ceil(abs(x) / m * tiers) < tier THEN '0' WHEN x > 0 THEN '+' ELSE '-' END
		  FROM unnest(q) AS x), '');
	p := translate(s, '+-0', '100');
	n := translate(s, '+-0', '010');
	RETURN (p || n || p || n || p || n)::varbit;
END;
$$;

-- The disagreeing mask of an agreeing one: its positive and negative planes swapped (P|N|P|N|P|N -> N|P|N|P|N|P).
-- A plain expression, so the planner folds it into a constant along with the mask.
CREATE OR REPLACE FUNCTION pgkb.embedding_mask_flip(m varbit) RETURNS varbit
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT (m << (length(m) / 6)) | (m >> (length(m) / 6 * 5))
$$;

-- Adds the bits columns and their covering indexes to both tables (array variant only; idempotent).
CREATE OR REPLACE FUNCTION pgkb.add_embedding_bits() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	tbl text;
	d integer;
	col text;
	adds text[];
BEGIN
	IF pgkb.embedding_backend() <> 'array' THEN
		RETURN;
	END IF;
	FOREACH tbl IN ARRAY ARRAY['archon_crawled_pages', 'archon_code_examples'] LOOP
		adds := '{}';
		FOREACH d IN ARRAY pgkb.embedding_dimensions() LOOP
			col := 'embedding_' || d;
			IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = format('public.%I', tbl)::regclass
			                AND attname = col || '_bits' AND NOT attisdropped) THEN
				adds := adds || format('ADD COLUMN %I varbit GENERATED ALWAYS AS (pgkb.embedding_bits(%I)) STORED',
				                       col || '_bits', col);
			END IF;
		END LOOP;
		IF cardinality(adds) > 0 THEN
			EXECUTE format('ALTER TABLE public.%I %s', tbl, array_to_string(adds, ', '));  -- one rewrite
		END IF;
		FOREACH d IN ARRAY pgkb.embedding_dimensions() LOOP
			col := 'embedding_' || d || '_bits';
			EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON public.%I (source_id) INCLUDE (id, %I) WHERE %I IS NOT NULL',
			               'idx_' || tbl || '_' || col, tbl, col, col);
		END LOOP;
	END LOOP;
END;
$$;

-- Drops them again (their indexes go with them).
CREATE OR REPLACE FUNCTION pgkb.drop_embedding_bits() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	tbl text;
	d integer;
BEGIN
	FOREACH tbl IN ARRAY ARRAY['archon_crawled_pages', 'archon_code_examples'] LOOP
		FOREACH d IN ARRAY pgkb.embedding_dimensions() LOOP
			EXECUTE format('ALTER TABLE public.%I DROP COLUMN IF EXISTS %I', tbl, 'embedding_' || d || '_bits');
		END LOOP;
	END LOOP;
END;
$$;

-- 012's function, with the array variant's three stages. Same parameters: $1 the query embedding, $2 how many rows,
-- $3 the metadata filter, $4 the source filter, $5 the query's norm (array variant). The search functions EXECUTE
-- the text with USING, so the planner sees $1 as a constant and computes the masks once.
CREATE OR REPLACE FUNCTION pgkb.vector_topk_sql(variant text, tbl text, dimension integer) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
	col text := 'embedding_' || dimension;
	bits text := 'embedding_' || dimension || '_bits';
	ext text;
	dist text;
BEGIN
	IF variant = 'array' AND NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = format('public.%I', tbl)::regclass
	                                        AND attname = bits AND NOT attisdropped) THEN
		-- no bits column (pgkb.drop_embedding_bits was run): the exact scan
		RETURN format('SELECT c.id, pgkb.cosine_similarity(c.%1$I, $1, $5) AS sim FROM public.%2$I c'
		              ' WHERE c.%1$I IS NOT NULL AND c.metadata @> $3 AND ($4 IS NULL OR c.source_id = $4)'
		              ' ORDER BY sim DESC, c.id LIMIT $2', col, tbl);
	END IF;
	IF variant = 'array' THEN
		RETURN format($q$
			SELECT c.id, pgkb.cosine_similarity(c.%1$I, $1, $5) AS sim
			  FROM (SELECT s1.id
			          FROM (SELECT c.id, c.%2$I AS b
			                  FROM public.%3$I c
			                 WHERE c.%2$I IS NOT NULL AND ($3 = '{}'::jsonb OR c.metadata @> $3)
			                   AND ($4 IS NULL OR c.source_id = $4)
			                 ORDER BY (bit_count(c.%2$I & pgkb.embedding_query_mask($1, 1, 4))
			                           - bit_count(c.%2$I & pgkb.embedding_mask_flip(pgkb.embedding_query_mask($1, 1, 4))))
			                          / sqrt(greatest(bit_count(c.%2$I), 1)) DESC, c.id
			                 LIMIT greatest(1000, $2 * 4)) s1
			         ORDER BY (bit_count(s1.b & pgkb.embedding_query_mask($1, 1, 4))
						   - bit_count(s1.b & pgkb.embedding_mask_flip(pgkb.embedding_query_mask($1, 1, 4)))
						   + bit_count(s1.b & pgkb.embedding_query_mask($1, 2, 4))
						   - bit_count(s1.b & pgkb.embedding_mask_flip(pgkb.embedding_query_mask($1, 2, 4)))
						   + bit_count(s1.b & pgkb.embedding_query_mask($1, 3, 4))
						   - bit_count(s1.b & pgkb.embedding_mask_flip(pgkb.embedding_query_mask($1, 3, 4)))
						   + bit_count(s1.b & pgkb.embedding_query_mask($1, 4, 4))
						   - bit_count(s1.b & pgkb.embedding_mask_flip(pgkb.embedding_query_mask($1, 4, 4))))
			                  / sqrt(greatest(bit_count(s1.b), 1)) DESC, s1.id
			         LIMIT greatest(100, $2 * 2)) s2
			  JOIN public.%3$I c ON c.id = s2.id
			 ORDER BY sim DESC, c.id LIMIT $2$q$, col, bits, tbl);
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

-- 012's function: the bits columns go first (a generated column blocks ALTER COLUMN TYPE of its source).
CREATE OR REPLACE FUNCTION pgkb.enable_pgvector() RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	CREATE EXTENSION IF NOT EXISTS vector;
	PERFORM pgkb.drop_embedding_bits();
	PERFORM pgkb.embedding_columns_to_vector();
	RETURN pgkb.install_search_functions();
END;
$$;

DO $$ BEGIN PERFORM pgkb.add_embedding_bits(); END $$;
