-- Array variant: vector search in milliseconds without pgvector, by quantised candidates and an exact re-rank;
-- and the search's scope rules (one embedding model at a time, a visible warning when none is in scope).
--
-- The exact scan of 012 computes pgkb.cosine_similarity in SQL for every row in scope (~60 µs a row at 384
-- dimensions: ~0.5 s on the 8,230 chunks of the PostgreSQL docs). Here every real[] embedding column
-- embedding_N gets three companions, written by a trigger in the same INSERT or UPDATE as the vector (so every
-- writer, Archon's own included, fills them; no second pass over the rows):
--   embedding_N_code   varbit(6N)   each element as one of seven levels -3..3 (t = mean |x| over the non-zero
--                                   elements: x in (0, t] is 1, (t, 2t] is 2, beyond is 3; zero stays 0), stored
--                                   as six thermometer planes: plane k (0..5) holds level + 3 > k
--   embedding_N_scale  real         t / |x|: a level times this is the element of the normalised vector
--   embedding_N_norm   real         |x|, so the exact similarity needs only the query's non-zero elements
-- A search (pgkb.vector_topk_sql, replaced here) then runs three stages:
--   1. every row in scope, from a covering index (index-only: the heap with its text and TOASTed vectors is not
--      read): code XOR the query's negative elements, AND a mask that takes, per element, the planes around
--      the middle that match the query's magnitude band of three (band 1: sign(x); band 2: level clipped to
--      +-2; band 3: the level), one bit_count; times the row's scale; keeps K1 = max(300, 3 x count);
--   2. those: the query's magnitudes in four bands against the row's full levels (one AND/bit_count per band),
--      times the row's scale; keeps K2 = max(100, count) (a hybrid search asks 4 x its match_count);
--   3. those, exactly: the dot product over the query's non-zero elements (pgkb.embedding_dot) over the stored
--      norms; that is the cosine similarity the functions return.
-- Why these, measured (bench/search.sh, docs/benchmarks.md): per-row function calls and the width of what a
-- stage carries through its sort dominate, so stage 1 is three calls and keeps few rows (carrying the code to
-- stage 2 is cheaper than fetching it again, and a sort keeping 1000 such rows cost 2-3x one keeping 300); the
-- exact re-rank in SQL costs ~100 µs a row (the vector is TOASTed), so it runs on K2 rows only, over the
-- query's non-zero elements (the builtin embedder's queries have 15-50). On the docs, stages 1 and 2 keep the
-- exact ranking's top 10 in their best 100 for ~0.97 of the queries (three levels of the query's magnitude in
-- stage 1 instead of its signs alone: K1 300 instead of 1000 for that recall).
--
-- Scope: vectors of two models are never ranked together. Each dimension has its own column; within one, the
-- setting pgkb.search_model (pgkb search sets it from its configuration) restricts the ranking to rows of that
-- embedding_model. A vector ranking that finds no row in scope raises a WARNING (the hybrid search then answers
-- from the keyword side alone, and says so) instead of silently returning keyword results.
--
-- pgkb.enable_pgvector (replaced here) drops the companions before converting: HNSW does this job there.

-- The companions of a vector. plpgsql over unnest: ~0.3 ms a row of 384 elements on a quiet core (one pass for
-- t and the norm, one width_bucket per element; translate() turns the level digits into each plane).
CREATE OR REPLACE FUNCTION pgkb.embedding_quantize(v real[], OUT code varbit, OUT scale real, OUT norm real)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
	t float8;
	n float8;
	s text;
BEGIN
	SELECT avg(abs(e)) FILTER (WHERE e <> 0), sqrt(sum(e::float8 * e)) INTO t, n FROM unnest(v) AS e;
	IF t IS NULL OR n = 0 THEN  -- the zero vector: no direction, similar to nothing
		s := repeat('3', cardinality(v));
		t := 0;
		n := 0;
	ELSE
		-- level + 3 as a digit: 0 below -2t, 3 for zero (0 <= x < 1e-300), 6 above 2t
		s := array_to_string(ARRAY(SELECT width_bucket(x::float8, ARRAY[-2 * t, -t, 0, 1e-300, t, 2 * t])
		                             FROM unnest(v) AS x), '');
	END IF;
	code := (translate(s, '0123456', '0111111') || translate(s, '0123456', '0011111') ||
	         translate(s, '0123456', '0001111') || translate(s, '0123456', '0000111') ||
	         translate(s, '0123456', '0000011') || translate(s, '0123456', '0000001'))::varbit;
	scale := CASE WHEN n > 0 THEN t / n ELSE 0 END;
	norm := n;
END;
$$;

-- A query's masks, computed once per search (6N bits each, plane-major like the codes):
--   neg: the query's negative elements on every plane (code # neg flips a row's levels where q < 0);
--   sel: per element, the planes k with 3 - b <= k <= 2 + b, b its magnitude band of three (ceil(3|q|/max|q|));
--     bit_count((code # neg) & sel) is the sum of sign(q) * clip(level, -b, b) + b; soff is the sum of b;
--   tiers[1..4]: every plane of the elements whose band of four reaches k; summed over k, bit_count((code # neg)
--     & tiers[k]) is the sum of band4(q) * (sign(q) * level + 3); toff is 3 * the sum of the bands;
--   idx, w: the non-zero elements (positions, values) for the exact dot product.
CREATE OR REPLACE FUNCTION pgkb.embedding_query_masks(q real[],
	OUT neg varbit, OUT sel varbit, OUT soff integer, OUT tiers varbit[], OUT toff integer,
	OUT idx integer[], OUT w float8[])
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
-- plpgsql, not sql: its statements' plans are kept for the session
DECLARE
	m float8;
	n text;
	b3 text;
	b4 text;
BEGIN
	SELECT nullif(max(abs(e)), 0) INTO m FROM unnest(q) AS e;
	m := coalesce(m, 1);
	SELECT string_agg(CASE WHEN x < 0 THEN '1' ELSE '0' END, '' ORDER BY i),
	       string_agg(ceil(abs(x) / m * 3)::int::text, '' ORDER BY i),
	       string_agg(ceil(abs(x) / m * 4)::int::text, '' ORDER BY i),
	       sum(ceil(abs(x) / m * 3))::int,
	       3 * sum(ceil(abs(x) / m * 4))::int,
	       array_agg(i::int ORDER BY i) FILTER (WHERE x <> 0),
	       array_agg(x::float8 ORDER BY i) FILTER (WHERE x <> 0)
	  INTO n, b3, b4, soff, toff, idx, w
	  FROM unnest(q) WITH ORDINALITY AS u(x, i);
	neg := repeat(n, 6)::varbit;
	sel := (translate(b3, '0123', '0001') || translate(b3, '0123', '0011') || translate(b3, '0123', '0111') ||
	        translate(b3, '0123', '0111') || translate(b3, '0123', '0011') || translate(b3, '0123', '0001'))::varbit;
	tiers := ARRAY[repeat(translate(b4, '01234', '01111'), 6)::varbit, repeat(translate(b4, '01234', '00111'), 6)::varbit,
	               repeat(translate(b4, '01234', '00011'), 6)::varbit, repeat(translate(b4, '01234', '00001'), 6)::varbit];
	idx := coalesce(idx, '{}');
	w := coalesce(w, '{}');
END;
$$;

-- The dot product of v with the sparse vector (idx, w). plpgsql keeps v expanded (detoasted once), so each
-- subscript is a direct read; over the builtin embedder's 15-50 non-zero query elements, ~10 µs a row.
CREATE OR REPLACE FUNCTION pgkb.embedding_dot(v real[], idx integer[], w float8[]) RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
	RETURN (SELECT sum(v[i] * x) FROM unnest(idx, w) AS u(i, x));
END;
$$;

-- The trigger function of one table: fills the companions of every embedding column an INSERT or UPDATE sets
-- (an UPDATE that leaves a vector as it was keeps them; a writer that computed them itself, such as a copy of
-- rows, passes them along and is trusted). Generated per table because plpgsql names NEW's
-- fields statically.
CREATE OR REPLACE FUNCTION pgkb.embedding_quant_trigger_sql(tbl text) RETURNS text
LANGUAGE plpgsql STABLE AS $tq$
DECLARE
	d integer;
	body text := '';
BEGIN
	FOREACH d IN ARRAY pgkb.embedding_dimensions() LOOP
		body := body || format($b$
	IF NEW.embedding_%1$s IS NULL THEN
		NEW.embedding_%1$s_code := NULL; NEW.embedding_%1$s_scale := NULL; NEW.embedding_%1$s_norm := NULL;
	ELSIF NEW.embedding_%1$s_code IS NULL
	      OR (TG_OP = 'UPDATE' AND NEW.embedding_%1$s IS DISTINCT FROM OLD.embedding_%1$s
	          AND NEW.embedding_%1$s_code IS NOT DISTINCT FROM OLD.embedding_%1$s_code) THEN
		SELECT q.code, q.scale, q.norm INTO NEW.embedding_%1$s_code, NEW.embedding_%1$s_scale, NEW.embedding_%1$s_norm
		  FROM pgkb.embedding_quantize(NEW.embedding_%1$s) q;
	END IF;$b$, d);
	END LOOP;
	RETURN format($f$
CREATE OR REPLACE FUNCTION pgkb.%1$I() RETURNS trigger LANGUAGE plpgsql AS $t$
BEGIN%2$s
	RETURN NEW;
END;
$t$$f$, tbl || '_embedding_quant', body);
END;
$tq$;

-- Adds the companions, their trigger and their covering indexes to both tables, and fills them for the rows
-- there (array variant only; idempotent).
CREATE OR REPLACE FUNCTION pgkb.add_embedding_quant() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	tbl text;
	d integer;
	cols text;
	adds text[];
	sets text[];
BEGIN
	IF pgkb.embedding_backend() <> 'array' THEN
		RETURN;
	END IF;
	FOREACH tbl IN ARRAY ARRAY['archon_crawled_pages', 'archon_code_examples'] LOOP
		adds := '{}';
		sets := '{}';
		cols := '';
		FOREACH d IN ARRAY pgkb.embedding_dimensions() LOOP
			adds := adds || format('ADD COLUMN IF NOT EXISTS embedding_%1$s_code varbit, '
			                       'ADD COLUMN IF NOT EXISTS embedding_%1$s_scale real, '
			                       'ADD COLUMN IF NOT EXISTS embedding_%1$s_norm real', d);
			sets := sets || format('embedding_%1$s = embedding_%1$s', d);
			cols := cols || CASE WHEN cols = '' THEN '' ELSE ', ' END || 'embedding_' || d;
		END LOOP;
		EXECUTE format('ALTER TABLE public.%I %s', tbl, array_to_string(adds, ', '));
		EXECUTE pgkb.embedding_quant_trigger_sql(tbl);
		EXECUTE format('DROP TRIGGER IF EXISTS embedding_quant ON public.%I', tbl);
		EXECUTE format('CREATE TRIGGER embedding_quant BEFORE INSERT OR UPDATE OF %s ON public.%I'
		               ' FOR EACH ROW EXECUTE FUNCTION pgkb.%I()', cols, tbl, tbl || '_embedding_quant');
		-- the rows already there (the trigger computes what is missing; none on a fresh database)
		FOREACH d IN ARRAY pgkb.embedding_dimensions() LOOP
			EXECUTE format('UPDATE public.%1$I SET embedding_%2$s = embedding_%2$s'
			               ' WHERE embedding_%2$s IS NOT NULL AND embedding_%2$s_code IS NULL', tbl, d);
			-- Stage 1's covering index, where the code fits an index tuple (6N/8 bytes: up to 1536 dimensions;
			-- 3072 reads the heap)
			IF d <= 1536 THEN
				EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON public.%I (source_id) INCLUDE (id, embedding_model,'
				               ' embedding_%s_scale, embedding_%s_code) WHERE embedding_%s_code IS NOT NULL',
				               'idx_' || tbl || '_embedding_' || d || '_quant', tbl, d, d, d);
			END IF;
		END LOOP;
	END LOOP;
END;
$$;

-- Drops them again (the indexes go with the columns).
CREATE OR REPLACE FUNCTION pgkb.drop_embedding_quant() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	tbl text;
	d integer;
BEGIN
	FOREACH tbl IN ARRAY ARRAY['archon_crawled_pages', 'archon_code_examples'] LOOP
		EXECUTE format('DROP TRIGGER IF EXISTS embedding_quant ON public.%I', tbl);
		EXECUTE format('DROP FUNCTION IF EXISTS pgkb.%I()', tbl || '_embedding_quant');
		FOREACH d IN ARRAY pgkb.embedding_dimensions() LOOP
			EXECUTE format('ALTER TABLE public.%1$I DROP COLUMN IF EXISTS embedding_%2$s_code,'
			               ' DROP COLUMN IF EXISTS embedding_%2$s_scale,'
			               ' DROP COLUMN IF EXISTS embedding_%2$s_norm', tbl, d);
		END LOOP;
	END LOOP;
END;
$$;

-- Raised (as a WARNING, once per ranking) when a vector ranking has no row in scope: the dimension, the model
-- when pgkb.search_model is set, the source. Returns false so it can sit in a WHERE clause; COST makes the
-- planner test it after the cheap emptiness check.
CREATE OR REPLACE FUNCTION pgkb.warn_no_vectors(tbl text, dimension integer, source text) RETURNS boolean
LANGUAGE plpgsql VOLATILE COST 10000 AS $$
BEGIN
	RAISE WARNING '%', format('pgkb: no %s with embeddings of dimension %s%s%s: the vector ranking is empty, keyword results only',
		CASE tbl WHEN 'archon_code_examples' THEN 'code examples' ELSE 'chunks' END, dimension,
		coalesce(' and model "' || nullif(current_setting('pgkb.search_model', true), '') || '"', ''),
		coalesce(' in source "' || source || '"', ''))
		USING HINT = 'embed them with this model, or search with the model they were embedded with';
	RETURN false;
END;
$$;

-- 012's function, with the array variant's three stages and the scope rules in both variants. Same parameters:
-- $1 the query embedding, $2 how many rows, $3 the metadata filter, $4 the source filter, $5 the query's norm
-- (array variant). The search functions EXECUTE the text with USING.
CREATE OR REPLACE FUNCTION pgkb.vector_topk_sql(variant text, tbl text, dimension integer) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
	col text := 'embedding_' || dimension;
	model text := '(SELECT nullif(current_setting(''pgkb.search_model'', true), ''''))';
	ext text;
	dist text;
	ranking text;
BEGIN
	IF variant = 'array' AND NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = format('public.%I', tbl)::regclass
	                                        AND attname = col || '_code' AND NOT attisdropped) THEN
		-- no companions (pgkb.drop_embedding_quant was run): the exact scan
		ranking := format('SELECT c.id, pgkb.cosine_similarity(c.%1$I, $1, $5) AS sim FROM public.%2$I c'
		                  ' WHERE c.%1$I IS NOT NULL AND c.metadata @> $3 AND ($4 IS NULL OR c.source_id = $4)'
		                  ' AND (%3$s IS NULL OR c.embedding_model = %3$s)'
		                  ' ORDER BY sim DESC, c.id LIMIT $2', col, tbl, model);
	ELSIF variant = 'array' THEN
		ranking := format($q$
			SELECT c.id, pgkb.embedding_dot(c.%1$I, (SELECT m.idx FROM m), (SELECT m.w FROM m))
			             / nullif(c.%1$I_norm * $5, 0) AS sim
			  FROM (SELECT s1.id
			          FROM (SELECT s0.id, s0.sc, s0.code # (SELECT m.neg FROM m) AS x
			                  FROM (SELECT c.id, c.%1$I_scale AS sc, c.%1$I_code AS code
			                          FROM public.%2$I c
			                         WHERE c.%1$I_code IS NOT NULL AND ($3 = '{}'::jsonb OR c.metadata @> $3)
			                           AND ($4 IS NULL OR c.source_id = $4)
			                           AND (%3$s IS NULL OR c.embedding_model = %3$s)
			                         ORDER BY (bit_count((c.%1$I_code # (SELECT m.neg FROM m)) & (SELECT m.sel FROM m))
			                                   - (SELECT m.soff FROM m)) * c.%1$I_scale DESC, c.id
			                         LIMIT greatest(300, $2 * 3)) s0
			                OFFSET 0) s1
			         ORDER BY (bit_count(s1.x & (SELECT m.tiers[1] FROM m)) + bit_count(s1.x & (SELECT m.tiers[2] FROM m))
			                   + bit_count(s1.x & (SELECT m.tiers[3] FROM m)) + bit_count(s1.x & (SELECT m.tiers[4] FROM m))
			                   - (SELECT m.toff FROM m)) * s1.sc DESC, s1.id
			         LIMIT greatest(100, $2)) s2
			  JOIN public.%2$I c ON c.id = s2.id
			 ORDER BY sim DESC NULLS LAST, c.id LIMIT $2$q$, col, tbl, model);
		ranking := 'WITH m AS MATERIALIZED (SELECT * FROM pgkb.embedding_query_masks($1::real[])), r AS ('
		           || ranking || ') SELECT r.id, r.sim FROM r';
	ELSE
		SELECT n.nspname INTO ext
		  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
		 WHERE e.extname = 'vector';
		IF dimension > 2000 AND to_regclass(format('public.%I', 'idx_' || tbl || '_' || col || '_hnsw')) IS NOT NULL THEN
			-- the index is on the halfvec cast: order by the same expression so the planner uses it
			dist := format('(c.%1$I::%2$I.halfvec(%3$s)) OPERATOR(%2$I.<=>) ($1::%2$I.halfvec(%3$s))', col, ext, dimension);
		ELSE
			dist := format('c.%1$I OPERATOR(%2$I.<=>) $1', col, ext);
		END IF;
		ranking := format('SELECT c.id, 1 - (c.%1$I OPERATOR(%2$I.<=>) $1) AS sim FROM public.%3$I c'
		                  ' WHERE c.%1$I IS NOT NULL AND c.metadata @> $3 AND ($4 IS NULL OR c.source_id = $4)'
		                  ' AND (%5$s IS NULL OR c.embedding_model = %5$s)'
		                  ' ORDER BY %4$s LIMIT $2', col, ext, tbl, dist, model);
	END IF;
	-- an empty ranking says so (pgkb.warn_no_vectors) instead of leaving a hybrid search keyword-only in silence
	IF ranking NOT LIKE 'WITH %' THEN
		ranking := 'WITH r AS MATERIALIZED (' || ranking || ') SELECT r.id, r.sim FROM r';
	END IF;
	RETURN ranking || format(' UNION ALL SELECT NULL::bigint, NULL::float8 WHERE NOT EXISTS (SELECT 1 FROM r)'
	                         ' AND pgkb.warn_no_vectors(%L, %s, $4)', tbl, dimension);
END;
$$;

-- 012's function: the companions and their trigger go first (the trigger reads the real[] columns).
CREATE OR REPLACE FUNCTION pgkb.enable_pgvector() RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	CREATE EXTENSION IF NOT EXISTS vector;
	PERFORM pgkb.drop_embedding_quant();
	PERFORM pgkb.embedding_columns_to_vector();
	RETURN pgkb.install_search_functions();
END;
$$;

REVOKE EXECUTE ON FUNCTION pgkb.add_embedding_quant() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pgkb.drop_embedding_quant() FROM PUBLIC;

DO $$ BEGIN PERFORM pgkb.add_embedding_quant(); END $$;
