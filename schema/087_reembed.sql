-- Re-embedding: when the configured embedding model or dimension changes, the rows that carry another model's
-- vectors get new ones, in the background, through 'reembed' jobs that the embed workers run.
--
--   SELECT pgkb.reembed('text-embedding-3-small', 1536);            -- every source
--   SELECT pgkb.reembed('text-embedding-3-small', 1536, 'docs');    -- one source
--   SELECT * FROM pgkb.reembed_progress();                          -- runs with jobs left: done / total rows
--   SELECT * FROM pgkb.vector_coverage();                           -- rows per (table, model, dimension)
--
-- A run is a set of reembed jobs sharing a "reembed_id" (from pgkb.reembed_ids), each covering a range of row
-- ids of one table (chunks or code examples) that held at most p_batch rows to re-embed when it was made. A job
-- embeds the rows of its range still not on its target model and dimension and writes them in its fenced
-- completion (pgkb.reembed_store): a job retried after a crash re-embeds only what is still off target, so it
-- writes nothing twice and loses nothing. The run needs no table of its own: its jobs' payloads say what it is,
-- and their states (pgkb.jobs, then pgkb.job_history) how far it got, so a worker role needs no new grant.
--
-- Search never ranks two dimensions together: each dimension has its own column, the query's dimension picks
-- the column, and pgkb.reembed_store writes the new column and clears the old one in one UPDATE, so a row is in
-- exactly one dimension's ranking at any moment.
--
-- Also here: an embed job that dies leaves its document 'failed' with the job's error instead of 'chunked'
-- forever (the embed analogue of 085's jobs_ingest_died), and back to 'chunked' when the job is retried; and
-- deleting a source cancels its re-embed jobs.

INSERT INTO pgkb.job_kinds (kind, position, description) VALUES
	('reembed', 55, 'embeds again, with the configured model, a range of chunks or code examples that carry another model''s vectors');

CREATE SEQUENCE pgkb.reembed_ids;

-- Progress reads the succeeded jobs of one run from the history.
CREATE INDEX job_history_reembed ON pgkb.job_history (((payload ->> 'reembed_id')::bigint))
	WHERE kind = 'reembed';

-- The rows of one table that a run targeting (p_model, p_dim) re-embeds: those with a vector of another model or
-- dimension (rows without a vector are the embed jobs' work), or every row with a vector when p_force; ids
-- p_from..p_to when given. p_text false leaves content_hash and text NULL (planning a run needs only ids).
CREATE FUNCTION pgkb.reembed_candidates(p_table text, p_source text, p_model text, p_dim integer, p_force boolean,
                                        p_from bigint DEFAULT NULL, p_to bigint DEFAULT NULL,
                                        p_text boolean DEFAULT true)
RETURNS TABLE (id bigint, content_hash text, text text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF p_table NOT IN ('pages', 'code') THEN
		RAISE EXCEPTION 'pgkb: reembed: table must be pages or code, not "%"', p_table
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- the code examples' text is what the embed job embeds for them (050): content, then the summary
	RETURN QUERY EXECUTE format(
		'SELECT t.id, %s FROM public.%I t'
		' WHERE t.embedding_dimension IS NOT NULL'
		'   AND ($4 OR t.embedding_model IS DISTINCT FROM $2 OR t.embedding_dimension <> $3)'
		'   AND ($1::text IS NULL OR t.source_id = $1)'
		'   AND ($5::bigint IS NULL OR t.id >= $5) AND ($6::bigint IS NULL OR t.id <= $6)'
		' ORDER BY t.id',
		CASE WHEN NOT p_text THEN 'NULL::text, NULL::text'
		     WHEN p_table = 'pages' THEN 't.content_hash::text, t.content'
		     ELSE 't.content_hash::text, concat_ws(E''\n\n'', t.content, nullif(t.summary, ''''))' END,
		CASE p_table WHEN 'pages' THEN 'archon_crawled_pages' ELSE 'archon_code_examples' END)
	USING p_source, p_model, p_dim, p_force, p_from, p_to;
END;
$$;

-- Starts a re-embed of source p_source_id (NULL: every source) to model p_model at dimension p_dimension, and
-- returns its run id, or NULL when no row needs it. A run of the same scope and target that still has jobs
-- queued or running is returned instead of a second one (an advisory lock orders concurrent callers), so many
-- embed workers starting at once make one run. Queued jobs of other runs in the same scope whose target differs
-- are cancelled (they would write a model that is no longer wanted), and so are the dead jobs of earlier runs
-- in the scope (the new run plans their rows again). p_force: every row with a vector, even one
-- on the target already (a retried job of a forced run embeds its range again: it still writes each row once
-- per success). p_batch: rows per job, 1 to 1000.
CREATE FUNCTION pgkb.reembed(p_model text, p_dimension integer, p_source_id text DEFAULT NULL,
                             p_force boolean DEFAULT false, p_batch integer DEFAULT 200)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	run bigint;
	scope jsonb := jsonb_build_object('source_id', p_source_id);
BEGIN
	IF p_model IS NULL OR p_model = '' OR length(p_model) > 200 THEN
		RAISE EXCEPTION 'pgkb: reembed: the model must be a name of 1 to 200 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_dimension IS NULL OR NOT p_dimension = ANY (pgkb.embedding_dimensions()) THEN
		RAISE EXCEPTION 'pgkb: reembed: dimension % has no embedding column', p_dimension
			USING ERRCODE = 'invalid_parameter_value', HINT = 'one of ' || array_to_string(pgkb.embedding_dimensions(), ', ');
	END IF;
	IF p_batch IS NULL OR p_batch NOT BETWEEN 1 AND 1000 THEN
		RAISE EXCEPTION 'pgkb: reembed: the batch must be 1 to 1000 rows, not %', p_batch
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_source_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.archon_sources s WHERE s.source_id = p_source_id) THEN
		RAISE EXCEPTION 'pgkb: reembed: no source "%"', p_source_id USING ERRCODE = 'no_data_found';
	END IF;
	IF p_source_id IS NOT NULL THEN
		PERFORM pgkb.source_refuse_deleted(p_source_id);
	END IF;
	PERFORM pg_advisory_xact_lock(hashtextextended('pgkb.reembed', 0));
	-- (a new statement, so a new snapshot: it sees the jobs a caller that held the lock before committed)
	SELECT (j.payload ->> 'reembed_id')::bigint INTO run FROM pgkb.jobs j
	 WHERE j.kind = 'reembed' AND j.state IN ('queued', 'running')
	   AND j.payload @> scope AND j.payload ->> 'model' = p_model
	   AND (j.payload ->> 'dimension')::int = p_dimension AND (j.payload ->> 'force')::boolean = p_force
	 LIMIT 1;
	IF run IS NOT NULL THEN
		RETURN run;
	END IF;
	WITH stale AS (
		DELETE FROM pgkb.jobs j
		 WHERE j.kind = 'reembed' AND j.payload @> scope
		   AND ((j.state = 'queued'
		         AND (j.payload ->> 'model' <> p_model OR (j.payload ->> 'dimension')::int <> p_dimension))
		        OR j.state = 'dead')
		RETURNING j.*
	)
	INSERT INTO pgkb.job_history
		(id, kind, payload, priority, state, attempts, last_error, worker, created_at, started_at, finished_at)
	SELECT s.id, s.kind, s.payload, s.priority, 'cancelled', s.attempts,
	       'superseded by a re-embed to ' || p_model || ' (' || p_dimension || ')', s.lease_owner, s.created_at,
	       s.started_at, clock_timestamp()
	  FROM stale s;
	run := nextval('pgkb.reembed_ids');
	INSERT INTO pgkb.jobs (kind, payload)
	SELECT 'reembed', jsonb_build_object('reembed_id', run, 'table', b.tbl, 'source_id', p_source_id,
	                                     'model', p_model, 'dimension', p_dimension, 'force', p_force,
	                                     'from_id', min(b.id), 'to_id', max(b.id), 'rows', count(*))
	  FROM (SELECT 'pages' AS tbl, c.id, (row_number() OVER (ORDER BY c.id) - 1) / p_batch AS n
	          FROM pgkb.reembed_candidates('pages', p_source_id, p_model, p_dimension, p_force, p_text => false) c
	        UNION ALL
	        SELECT 'code', c.id, (row_number() OVER (ORDER BY c.id) - 1) / p_batch
	          FROM pgkb.reembed_candidates('code', p_source_id, p_model, p_dimension, p_force, p_text => false) c) b
	 GROUP BY b.tbl, b.n
	 ORDER BY b.tbl DESC, b.n;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	RETURN run;
END;
$$;

-- Writes one reembed job's vectors, in its fenced completion: p_vectors is flat, the vector of p_ids[i] is
-- elements (i-1)*p_dim+1 .. i*p_dim. Only rows still off target are written, and only while their text is the
-- text that was embedded (content_hash as loaded; a chunk changed meanwhile is the embed job's), so a retried
-- or late job changes nothing twice. The vector goes to the column of p_dim and every other dimension's
-- column is cleared in the same UPDATE: a row never carries two models' vectors. Returns the rows written.
CREATE FUNCTION pgkb.reembed_store(p_table text, p_ids bigint[], p_hashes text[], p_vectors real[], p_model text,
                                   p_dim integer, p_force boolean)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	n integer := coalesce(cardinality(p_ids), 0);
	sets text;
	written integer;
BEGIN
	PERFORM pgkb.check_query_embedding(NULL, p_dim);
	IF p_table NOT IN ('pages', 'code') THEN
		RAISE EXCEPTION 'pgkb: reembed_store: table must be pages or code, not "%"', p_table
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF coalesce(cardinality(p_vectors), 0) <> n * p_dim OR coalesce(cardinality(p_hashes), 0) <> n THEN
		RAISE EXCEPTION 'pgkb: reembed_store: % vector elements and % hashes for % rows of dimension %',
			coalesce(cardinality(p_vectors), 0), coalesce(cardinality(p_hashes), 0), n, p_dim
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF n = 0 THEN
		RETURN 0;
	END IF;
	SELECT string_agg(format('%I = %s', 'embedding_' || d, CASE WHEN d = p_dim THEN 'v.vec' ELSE 'NULL' END), ', ')
	  INTO sets FROM unnest(pgkb.embedding_dimensions()) AS d;
	EXECUTE format(
		'UPDATE public.%I t SET %s, embedding_model = $3, embedding_dimension = $4'
		'  FROM (SELECT u.id, h.hash, $2[(u.o - 1) * $4 + 1 : u.o * $4] AS vec'
		'          FROM unnest($1) WITH ORDINALITY AS u(id, o)'
		'          JOIN unnest($5) WITH ORDINALITY AS h(hash, o) ON h.o = u.o) v'
		' WHERE t.id = v.id AND t.content_hash::text IS NOT DISTINCT FROM v.hash'
		'   AND t.embedding_dimension IS NOT NULL'
		'   AND ($6 OR t.embedding_model IS DISTINCT FROM $3 OR t.embedding_dimension <> $4)',
		CASE p_table WHEN 'pages' THEN 'archon_crawled_pages' ELSE 'archon_code_examples' END, sets)
		USING p_ids, p_vectors, p_model, p_dim, p_hashes, p_force;
	GET DIAGNOSTICS written = ROW_COUNT;
	RETURN written;
END;
$$;

-- Where re-embed runs stand: p_reembed_id's run, or (NULL) every run that still has jobs queued or running.
-- total: rows the run's jobs cover; done: rows of its succeeded jobs; jobs_dead: jobs that gave up (their
-- errors in pgkb.jobs.last_error); final: no job queued or running.
CREATE FUNCTION pgkb.reembed_progress(p_reembed_id bigint DEFAULT NULL)
RETURNS TABLE (reembed_id bigint, source_id text, model text, dimension integer, started_at timestamptz,
               total bigint, done bigint, jobs bigint, jobs_pending bigint, jobs_dead bigint, final boolean)
LANGUAGE sql STABLE AS $$
	WITH runs AS (
		SELECT DISTINCT (j.payload ->> 'reembed_id')::bigint AS id FROM pgkb.jobs j
		 WHERE j.kind = 'reembed' AND p_reembed_id IS NULL AND j.state IN ('queued', 'running')
		UNION
		SELECT p_reembed_id WHERE p_reembed_id IS NOT NULL
	), js AS (
		SELECT (j.payload ->> 'reembed_id')::bigint AS id, j.payload, j.state, j.created_at FROM pgkb.jobs j
		 WHERE j.kind = 'reembed' AND (j.payload ->> 'reembed_id')::bigint IN (SELECT r.id FROM runs r)
		UNION ALL
		SELECT (h.payload ->> 'reembed_id')::bigint, h.payload, h.state, h.created_at FROM pgkb.job_history h
		 WHERE h.kind = 'reembed' AND (h.payload ->> 'reembed_id')::bigint IN (SELECT r.id FROM runs r)
		   AND NOT EXISTS (SELECT 1 FROM pgkb.jobs j WHERE j.id = h.id)
	)
	SELECT js.id, max(js.payload ->> 'source_id'), max(js.payload ->> 'model'),
	       max((js.payload ->> 'dimension')::int), min(js.created_at),
	       sum((js.payload ->> 'rows')::bigint) FILTER (WHERE js.state <> 'cancelled'),
	       coalesce(sum((js.payload ->> 'rows')::bigint) FILTER (WHERE js.state = 'succeeded'), 0),
	       count(*) FILTER (WHERE js.state <> 'cancelled'),
	       count(*) FILTER (WHERE js.state IN ('queued', 'running')),
	       count(*) FILTER (WHERE js.state = 'dead'),
	       count(*) FILTER (WHERE js.state IN ('queued', 'running')) = 0
	  FROM js GROUP BY js.id ORDER BY js.id
$$;

-- Vector coverage of source p_source_id (NULL: all): rows per table ('pages' for chunks, 'code' for code
-- examples), model and dimension; model and dimension NULL for rows without a vector. share: percent of the
-- table's rows in scope. Reads every row of the scope (the embedding_model index where it can).
CREATE FUNCTION pgkb.vector_coverage(p_source_id text DEFAULT NULL)
RETURNS TABLE (tbl text, model text, dimension integer, rows bigint, share numeric)
LANGUAGE sql STABLE AS $$
	WITH c AS (
		SELECT 'pages' AS tbl, p.embedding_model AS model, p.embedding_dimension AS dimension, count(*) AS rows
		  FROM public.archon_crawled_pages p WHERE p_source_id IS NULL OR p.source_id = p_source_id
		 GROUP BY 2, 3
		UNION ALL
		SELECT 'code', e.embedding_model, e.embedding_dimension, count(*)
		  FROM public.archon_code_examples e WHERE p_source_id IS NULL OR e.source_id = p_source_id
		 GROUP BY 2, 3
	)
	SELECT c.tbl, c.model, c.dimension, c.rows,
	       round(100.0 * c.rows / sum(c.rows) OVER (PARTITION BY c.tbl), 1)
	  FROM c ORDER BY c.tbl DESC, c.model NULLS LAST, c.dimension
$$;

-- What an embed worker checks at its start (workers/embed/reembed.c): rows with a vector of another model or
-- dimension than (p_model, p_dim), all sources. With p_auto (embed.reembed_on_change) it also starts the run
-- for them (pgkb.reembed: one run however many workers start). Stops counting at p_limit rows: a worker only
-- needs to know there are some.
CREATE FUNCTION pgkb.reembed_check(p_model text, p_dim integer, p_auto boolean, p_limit integer DEFAULT 100000,
	OUT off_target bigint, OUT reembed_id bigint)
LANGUAGE plpgsql AS $$
BEGIN
	-- plain queries, not pgkb.reembed_candidates: a set-returning function would read every row before LIMIT
	SELECT count(*) INTO off_target FROM (
		(SELECT 1 FROM public.archon_crawled_pages t
		  WHERE t.embedding_dimension IS NOT NULL
		    AND (t.embedding_model IS DISTINCT FROM p_model OR t.embedding_dimension <> p_dim) LIMIT p_limit)
		UNION ALL
		(SELECT 1 FROM public.archon_code_examples t
		  WHERE t.embedding_dimension IS NOT NULL
		    AND (t.embedding_model IS DISTINCT FROM p_model OR t.embedding_dimension <> p_dim) LIMIT p_limit)) x;
	IF p_auto AND off_target > 0 THEN
		reembed_id := pgkb.reembed(p_model, p_dim);
	END IF;
END;
$$;

-- Deleting a source (083) cancels the jobs of its re-embed runs with its other jobs when it marks the source:
-- pgkb.source_jobs finds jobs by the source's documents and crawls, which a reembed job does not name.
CREATE FUNCTION pgkb.source_deletion_cancel_reembeds() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pgkb.source_cancel_job_ids(ARRAY(SELECT j.id FROM pgkb.jobs j
	                                          WHERE j.kind = 'reembed' AND j.payload ->> 'source_id' = NEW.source_id),
	                                   NEW.source_id);
	RETURN NULL;
END;
$$;
CREATE TRIGGER source_deletions_cancel_reembeds AFTER INSERT ON pgkb.source_deletions
	FOR EACH ROW EXECUTE FUNCTION pgkb.source_deletion_cancel_reembeds();

-- An embed job ({"document_id"}) that dies (permanent error, or attempts exhausted) fails its document with the
-- job's error, where it would otherwise stay 'chunked' and never be final; retrying the job (dead -> queued)
-- puts the document back to 'chunked' so that the job's success makes it ready.
CREATE FUNCTION pgkb.embed_job_state() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NOT NEW.payload ->> 'document_id' ~ '^[0-9]{1,18}$' THEN
		RETURN NULL;
	END IF;
	IF NEW.state = 'dead' THEN
		UPDATE pgkb.documents
		   SET status = 'failed', error = 'embed job ' || NEW.id || ' died: ' || coalesce(NEW.last_error, '?')
		 WHERE id = (NEW.payload ->> 'document_id')::bigint AND status IN ('chunked', 'embedded');
	ELSE
		UPDATE pgkb.documents SET status = 'chunked', error = NULL
		 WHERE id = (NEW.payload ->> 'document_id')::bigint AND status = 'failed'
		   AND error LIKE 'embed job ' || NEW.id || ' died: %';
	END IF;
	RETURN NULL;
END;
$$;
CREATE TRIGGER jobs_embed_state AFTER UPDATE OF state ON pgkb.jobs
	FOR EACH ROW WHEN (NEW.kind = 'embed' AND (NEW.state = 'dead') <> (OLD.state = 'dead'))
	EXECUTE FUNCTION pgkb.embed_job_state();

-- Worker roles granted before this migration: the sequence (pgkb.grant_worker_role grants every pgkb sequence
-- and function when run again; these are what the embed workers call now).
DO $$
DECLARE
	r name;
BEGIN
	FOR r IN SELECT DISTINCT g.grantee FROM information_schema.role_table_grants g
	          WHERE g.table_schema = 'pgkb' AND g.table_name = 'jobs' AND g.privilege_type = 'INSERT'
	            AND g.grantee <> current_user AND g.grantee <> 'PUBLIC' LOOP
		EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE pgkb.reembed_ids TO %I', r);
	END LOOP;
END $$;
