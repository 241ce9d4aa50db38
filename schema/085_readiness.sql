-- Readiness: how an application that enqueued work learns that it is done, and what failed.
--   1. NOTIFY pgkb_documents with a JSON payload each time a statement sets a document's status to a final one
--      (ready, failed, skipped, gone), in the transaction that sets it.
--   2. pgkb.job_tree, pgkb.job_documents and pgkb.job_progress lead from a job id to the jobs it made (a
--      directory's per-file jobs carry "parent_job_id" in their payload) and the documents they made, with their
--      statuses, and say whether everything is final.
--   3. A stored page whose ingest job dies is marked failed with the job's error, as a fetch job that dies fails
--      its page (040): otherwise it would stay 'fetched' and its crawl would never be final.
--   4. An index for the most recent failed documents (pgkb status, pgkb documents --status failed).
--
-- How an application waits (psql syntax; any client that receives notifications does the same):
--   LISTEN pgkb_documents;
--   SELECT final, failed, jobs_dead FROM pgkb.job_progress(42);  -- after LISTEN: nothing is missed
--   -- until final: wait for a notification (or a second), then ask job_progress again

-- 1. Notifications. Final statuses: the pipeline ends in one of these (020); queued, fetched, chunked and
-- embedded are steps on the way. Fired by every INSERT of a final status and every UPDATE that sets status
-- (UPDATE OF status fires when the statement assigns the column, even to its old value): a re-ingest of a
-- changed document that was ready and is ready again notifies too. A re-ingest that finds the document
-- unchanged writes nothing and sends nothing; job_progress covers that case.
-- The payload is a JSON object: document_id, source_id, url, status, error (NULL unless failed, skipped or
-- gone), crawl_id and job_id (the crawl's job) for crawled pages. NOTIFY refuses payloads of 8000 bytes or
-- more, so url and error are cut (characters, then halved until the payload fits; "truncated": true says so):
-- the whole values are in pgkb.documents.
-- A row trigger whose WHEN is checked in C, so the many status changes on the way (queued, fetched) cost no
-- PL/pgSQL call. (A statement trigger with transition tables cannot name a column, and would capture every
-- updated row, fetched bodies included.) Cost measured on bench/pipeline.sh: docs/benchmarks.md.
CREATE FUNCTION pgkb.documents_notify_final() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	crawl_job bigint;
	keep integer := 2000;
	payload text;
BEGIN
	IF NEW.crawl_id IS NOT NULL THEN
		SELECT c.job_id INTO crawl_job FROM pgkb.crawls c WHERE c.id = NEW.crawl_id;
	END IF;
	LOOP
		payload := json_build_object(
			'document_id', NEW.id, 'source_id', left(NEW.source_id, 200), 'url', left(NEW.url, keep),
			'status', NEW.status, 'error', left(NEW.error, keep), 'crawl_id', NEW.crawl_id, 'job_id', crawl_job,
			'truncated', length(NEW.url) > keep OR coalesce(length(NEW.error), 0) > keep)::text;
		EXIT WHEN octet_length(payload) < 8000;
		keep := keep / 2; -- escaped control characters take 6 bytes, others up to 4: shrink until it fits
	END LOOP;
	PERFORM pg_notify('pgkb_documents', payload);
	RETURN NULL;
END;
$$;
CREATE TRIGGER documents_notify_final AFTER INSERT OR UPDATE OF status ON pgkb.documents
	FOR EACH ROW WHEN (NEW.status IN ('ready', 'failed', 'skipped', 'gone'))
	EXECUTE FUNCTION pgkb.documents_notify_final();

-- 2. From a job to its documents.
-- A directory's ingest job enqueues one ingest job per file, each with "parent_job_id" in its payload
-- (workers/ingest/ingest.c). Children are found by that key in pgkb.jobs (small: active and dead jobs only,
-- scanned) and in pgkb.job_history (large, so indexed; partial, so other completions pay only the predicate).
CREATE INDEX job_history_parent ON pgkb.job_history ((payload ->> 'parent_job_id'))
	WHERE payload ? 'parent_job_id';

-- The job and the jobs it made, down to 3 levels: one row per job, from pgkb.jobs while it is there (queued,
-- running, dead), else its latest pgkb.job_history row (succeeded, cancelled, dead). No row for an unknown job
-- (never existed, or its history was pruned: queue.history_retention).
CREATE FUNCTION pgkb.job_tree(p_job_id bigint)
RETURNS TABLE (job_id bigint, parent_job_id bigint, level integer, kind text, state text, payload jsonb,
               last_error text)
LANGUAGE sql STABLE AS $$
	WITH RECURSIVE tree AS (
		SELECT r.id, NULL::bigint AS parent, 0 AS level, r.kind, r.state, r.payload, r.last_error
		  FROM (SELECT j.id, j.kind, j.state, j.payload, j.last_error, 0 AS pref, now() AS at
		          FROM pgkb.jobs j WHERE j.id = p_job_id
		        UNION ALL
		        SELECT h.id, h.kind, h.state, h.payload, h.last_error, 1, h.finished_at
		          FROM pgkb.job_history h WHERE h.id = p_job_id
		         ORDER BY 6, 7 DESC LIMIT 1) r
		UNION ALL
		SELECT c.id, t.id, t.level + 1, c.kind, c.state, c.payload, c.last_error
		  FROM tree t
		  CROSS JOIN LATERAL (
		        SELECT DISTINCT ON (x.id) x.id, x.kind, x.state, x.payload, x.last_error
		          FROM (SELECT j.id, j.kind, j.state, j.payload, j.last_error, 0 AS pref, now() AS at
		                  FROM pgkb.jobs j
		                 WHERE j.payload ? 'parent_job_id' AND j.payload ->> 'parent_job_id' = t.id::text
		                UNION ALL
		                SELECT h.id, h.kind, h.state, h.payload, h.last_error, 1, h.finished_at
		                  FROM pgkb.job_history h
		                 WHERE h.payload ? 'parent_job_id' AND h.payload ->> 'parent_job_id' = t.id::text) x
		         ORDER BY x.id, x.pref, x.at DESC) c
		 WHERE t.level < 3
	)
	SELECT id, parent, level, kind, state, payload, last_error FROM tree
$$;

-- The documents a job made, with the job of its tree that made each (job_id):
--   {"document_id": N} (ingest of a stored page, embed)   that document
--   crawl                                                 the documents of its crawls (pgkb.crawls.job_id)
--   fetch {"crawl_id", "url"}                             that page
--   ingest {"path"} of a file, {"content", "url"}         the document of that URL (file://PATH), in the
--                                                         payload's source_id when it names one
--   ingest {"path"} of a directory                        those of its per-file jobs
-- A file path that reached the worker through a symlink is stored under its resolved name and is not found
-- here by the payload's path; a directory's files are (its per-file jobs carry resolved paths).
CREATE FUNCTION pgkb.job_documents(p_job_id bigint)
RETURNS TABLE (document_id bigint, source_id text, url text, status text, error text, job_id bigint)
LANGUAGE sql STABLE AS $$
	-- each branch returns the document's columns itself: a join of the union back to documents was planned as
	-- a hash join over every document (the union's size cannot be estimated)
	WITH t AS MATERIALIZED (SELECT * FROM pgkb.job_tree(p_job_id)),
	found AS (
		SELECT d.id, d.source_id, d.url, d.status, d.error, t.job_id
		  FROM t JOIN pgkb.documents d ON d.id = (t.payload ->> 'document_id')::bigint
		 WHERE t.payload ->> 'document_id' ~ '^[0-9]{1,18}$'
		UNION ALL
		SELECT d.id, d.source_id, d.url, d.status, d.error, t.job_id
		  FROM t JOIN pgkb.crawls c ON c.job_id = t.job_id JOIN pgkb.documents d ON d.crawl_id = c.id
		 WHERE t.kind = 'crawl'
		UNION ALL
		SELECT d.id, d.source_id, d.url, d.status, d.error, t.job_id
		  FROM t JOIN pgkb.documents d ON d.url = t.payload ->> 'url'
		       AND d.crawl_id = (t.payload ->> 'crawl_id')::bigint
		 WHERE t.kind = 'fetch' AND t.payload ->> 'crawl_id' ~ '^[0-9]{1,18}$'
		UNION ALL
		SELECT d.id, d.source_id, d.url, d.status, d.error, t.job_id
		  FROM t JOIN pgkb.documents d
		       ON d.url = CASE WHEN jsonb_typeof(t.payload -> 'path') = 'string' THEN 'file://' || (t.payload ->> 'path')
		                       WHEN jsonb_typeof(t.payload -> 'content') = 'string' THEN t.payload ->> 'url' END
		 WHERE t.kind = 'ingest' AND NOT t.payload ? 'document_id'
		   AND (jsonb_typeof(t.payload -> 'source_id') IS DISTINCT FROM 'string'
		        OR d.source_id = t.payload ->> 'source_id')
	)
	SELECT DISTINCT ON (f.id) f.id, f.source_id, f.url, f.status, f.error, f.job_id
	  FROM found f
	 ORDER BY f.id, f.job_id
$$;

-- Where a job stands: its own state ('queued', 'running', 'dead' while in pgkb.jobs; 'succeeded',
-- 'cancelled', 'dead' from pgkb.job_history), the jobs of its tree (jobs_pending: queued or running;
-- jobs_dead: dead, their errors in pgkb.job_tree), its documents by status, and
--   final    nothing more will happen without a new job: no job of the tree is queued or running (so a
--            directory's per-file jobs exist), no crawl of it is running, and every document is ready,
--            failed, skipped or gone
-- Everything went well when it is final with failed = 0 and jobs_dead = 0 (a dead job may have died before
-- making its document: pgkb.job_tree has its last_error).
-- Raises for an unknown job id (never enqueued, or its history pruned after queue.history_retention).
-- Cost: a few ms for one job; about 0.5 s for a directory of 20,000 files (the tree, and a document lookup by
-- url per file), so pgkb wait asks no more often than every twice that.
CREATE FUNCTION pgkb.job_progress(p_job_id bigint,
	OUT job_id bigint, OUT kind text, OUT state text, OUT jobs bigint, OUT jobs_pending bigint,
	OUT jobs_dead bigint, OUT documents bigint, OUT queued bigint, OUT fetched bigint, OUT chunked bigint,
	OUT embedded bigint, OUT ready bigint, OUT failed bigint, OUT skipped bigint, OUT gone bigint,
	OUT crawls_running bigint, OUT final boolean)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	-- the tree once for the jobs and their crawls (a directory of 20,000 files: 20,001 jobs), once more inside
	-- job_documents
	SELECT max(t.job_id) FILTER (WHERE t.level = 0), max(t.kind) FILTER (WHERE t.level = 0),
	       max(t.state) FILTER (WHERE t.level = 0), count(*),
	       count(*) FILTER (WHERE t.state IN ('queued', 'running')), count(*) FILTER (WHERE t.state = 'dead'),
	       count(*) FILTER (WHERE t.kind = 'crawl' AND EXISTS (SELECT 1 FROM pgkb.crawls c
	                                                            WHERE c.job_id = t.job_id AND c.status = 'running'))
	  INTO job_id, kind, state, jobs, jobs_pending, jobs_dead, crawls_running
	  FROM pgkb.job_tree(p_job_id) t;
	IF job_id IS NULL THEN
		RAISE EXCEPTION 'pgkb: no job %', p_job_id USING ERRCODE = 'no_data_found',
			HINT = 'finished jobs stay in pgkb.job_history for queue.history_retention (7 days by default)';
	END IF;
	SELECT count(*), count(*) FILTER (WHERE d.status = 'queued'), count(*) FILTER (WHERE d.status = 'fetched'),
	       count(*) FILTER (WHERE d.status = 'chunked'), count(*) FILTER (WHERE d.status = 'embedded'),
	       count(*) FILTER (WHERE d.status = 'ready'), count(*) FILTER (WHERE d.status = 'failed'),
	       count(*) FILTER (WHERE d.status = 'skipped'), count(*) FILTER (WHERE d.status = 'gone')
	  INTO documents, queued, fetched, chunked, embedded, ready, failed, skipped, gone
	  FROM pgkb.job_documents(p_job_id) d;
	final := jobs_pending = 0 AND crawls_running = 0 AND queued + fetched + chunked + embedded = 0;
END;
$$;

-- 3. A stored page ({"document_id"}) whose ingest job dies (a permanent error, or attempts exhausted) fails with
-- the job's error instead of staying 'fetched'. pgkb retry of the job ingests it again (its body is kept).
CREATE FUNCTION pgkb.ingest_job_died() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.payload ->> 'document_id' ~ '^[0-9]{1,18}$' THEN
		UPDATE pgkb.documents
		   SET status = 'failed', error = 'ingest job ' || NEW.id || ' died: ' || coalesce(NEW.last_error, '?')
		 WHERE id = (NEW.payload ->> 'document_id')::bigint AND status = 'fetched';
	END IF;
	RETURN NULL;
END;
$$;
CREATE TRIGGER jobs_ingest_died AFTER UPDATE OF state ON pgkb.jobs
	FOR EACH ROW WHEN (NEW.state = 'dead' AND OLD.state <> 'dead' AND NEW.kind = 'ingest')
	EXECUTE FUNCTION pgkb.ingest_job_died();

-- 4. The most recent failures, without reading every document. Partial: maintained only for failed rows, and
-- status and updated_at are indexed already (020), so no update that was HOT stops being HOT.
CREATE INDEX documents_failed ON pgkb.documents (updated_at) WHERE status = 'failed';
