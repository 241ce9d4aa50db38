-- Sources as first-class objects: list, change and delete a source with SQL (the pgkb sources / source
-- commands call these functions), and one owner per URL.
--
-- Deleting a source (pgkb.source_delete, or pgkb.source_delete_step in a loop):
--   1. pgkb.source_deletions gets the source's row (the mark), its running crawls become 'cancelled' and its
--      jobs (crawl, fetch, ingest, embed: queued, scheduled, running or dead) move to pgkb.job_history as
--      'cancelled'. A running job's lease is then gone, so its fenced completion is refused and writes nothing.
--   2. While the mark is there, writes that still arrive for the source are refused (triggers below, and
--      pgkb.ingest_document): a crawl's setup (source and crawl rows), a frontier claim, an ingest.
--   3. Chunks, code examples, page metadata, documents and crawls go in batches (5,000 rows by default), each
--      its own short transaction, so a source of a million chunks holds no long lock and writes no huge
--      transaction while the workers of other sources go on. The last batch removes the archon_sources row and
--      the mark together.
-- A deletion that was killed is finished by running it again: the mark remembers it.
--
-- Ownership: Archon keys pages by url and chunks by (url, chunk_number) across all sources, so one URL can hold
-- the text of one source only. The first source that ingests a URL owns it; an ingest of the same URL into
-- another source leaves that document 'failed' with "url U is owned by source S" and changes nothing of the
-- owner's rows. A user who ingests into tenant-b must not silently take tenant-a's text away (the alternative,
-- moving the URL, lets any source empty another). The URL is free again once its owner's document is gone
-- (source deleted, document pruned), and the next ingest into the other source then takes it.

-- Sources being deleted (the mark). A row exists from the start of a deletion to its last batch.
CREATE TABLE pgkb.source_deletions (
	source_id  text        PRIMARY KEY,
	started_at timestamptz NOT NULL DEFAULT now(),
	deleted    bigint      NOT NULL DEFAULT 0   -- rows removed so far, all tables together
);

-- The triggers below read it in the workers' sessions: a worker role granted before this migration (by
-- pgkb.grant_worker_role, which grants SELECT on every pgkb table) gets SELECT now, so its writes do not fail
-- on it. Deleting a source is the owner's (or an operator's) work, not the workers'.
DO $$
DECLARE
	r name;
BEGIN
	FOR r IN SELECT DISTINCT g.grantee FROM information_schema.role_table_grants g
	          WHERE g.table_schema = 'pgkb' AND g.table_name = 'documents' AND g.privilege_type = 'INSERT'
	            AND g.grantee <> current_user AND g.grantee <> 'PUBLIC' LOOP
		EXECUTE format('GRANT SELECT ON pgkb.source_deletions TO %I', r);
	END LOOP;
END $$;

-- The error a write for a source under deletion gets.
CREATE FUNCTION pgkb.source_refuse_deleted(p_source text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM pgkb.source_deletions WHERE source_id = p_source) THEN
		RAISE EXCEPTION 'pgkb: source % is being deleted', p_source
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
END;
$$;

-- Row triggers on the rare writes (a source row, a crawl row); the crawl row also refuses a crawl whose job was
-- cancelled while its setup was in flight (its crawl would otherwise come back, running without a job).
CREATE FUNCTION pgkb.source_row_refuse_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pgkb.source_refuse_deleted(NEW.source_id);
	RETURN NEW;
END;
$$;
CREATE TRIGGER archon_sources_refuse_deleted BEFORE INSERT ON public.archon_sources
	FOR EACH ROW EXECUTE FUNCTION pgkb.source_row_refuse_deleted();
CREATE FUNCTION pgkb.crawl_row_refuse_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pgkb.source_refuse_deleted(NEW.source_id);
	IF NEW.job_id IS NOT NULL
	   AND EXISTS (SELECT 1 FROM pgkb.job_history WHERE id = NEW.job_id AND state = 'cancelled') THEN
		RAISE EXCEPTION 'pgkb: crawl job % was cancelled', NEW.job_id USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	RETURN NEW;
END;
$$;
CREATE TRIGGER crawls_refuse_deleted BEFORE INSERT ON pgkb.crawls
	FOR EACH ROW EXECUTE FUNCTION pgkb.crawl_row_refuse_deleted();

-- Documents are inserted by the thousand (frontier claims): checked once per statement over its new rows.
CREATE FUNCTION pgkb.documents_refuse_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	bad text;
BEGIN
	IF EXISTS (SELECT 1 FROM pgkb.source_deletions) THEN
		SELECT n.source_id INTO bad FROM new_documents n
		  JOIN pgkb.source_deletions s ON s.source_id = n.source_id LIMIT 1;
		IF FOUND THEN
			PERFORM pgkb.source_refuse_deleted(bad);
		END IF;
	END IF;
	RETURN NULL;
END;
$$;
CREATE TRIGGER documents_refuse_deleted AFTER INSERT ON pgkb.documents
	REFERENCING NEW TABLE AS new_documents FOR EACH STATEMENT EXECUTE FUNCTION pgkb.documents_refuse_deleted();

-- The jobs of a source: crawls that name it (or, without a source_id, its URL or a root URL of its crawls), the
-- crawl jobs of its crawls, fetches of its crawls, ingests that name it, ingests and embeds of its documents.
-- p_documents false leaves out the lookup by document (which reads every document id of the source).
CREATE FUNCTION pgkb.source_jobs(p_source text, p_documents boolean DEFAULT true) RETURNS SETOF bigint
LANGUAGE sql STABLE AS $$
	SELECT j.id FROM pgkb.jobs j
	 WHERE (j.kind IN ('crawl', 'ingest') AND j.payload ->> 'source_id' = p_source)
	    OR (j.kind = 'crawl' AND j.id IN (SELECT c.job_id FROM pgkb.crawls c WHERE c.source_id = p_source))
	    OR (j.kind = 'crawl' AND NOT j.payload ? 'source_id'
	        AND j.payload ->> 'url' IN (SELECT s.source_url FROM public.archon_sources s WHERE s.source_id = p_source
	                                    UNION SELECT c.root_url FROM pgkb.crawls c WHERE c.source_id = p_source))
	    OR (j.kind = 'fetch'
	        AND j.payload ->> 'crawl_id' IN (SELECT c.id::text FROM pgkb.crawls c WHERE c.source_id = p_source))
	    OR (p_documents AND j.kind IN ('ingest', 'embed')
	        AND j.payload ->> 'document_id' IN (SELECT d.id::text FROM pgkb.documents d WHERE d.source_id = p_source))
$$;

-- Moves jobs p_ids (of source p_source) to pgkb.job_history as cancelled; returns how many. A running job loses
-- its lease with its row, so its worker's fenced completion is refused (KB001) and its result is never written.
CREATE FUNCTION pgkb.source_cancel_job_ids(p_ids bigint[], p_source text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	n integer;
BEGIN
	WITH gone AS (
		DELETE FROM pgkb.jobs j WHERE j.id = ANY (p_ids) RETURNING j.*
	)
	INSERT INTO pgkb.job_history
		(id, kind, payload, priority, state, attempts, last_error, worker, created_at, started_at, finished_at)
	SELECT g.id, g.kind, g.payload, g.priority, 'cancelled', g.attempts,
	       'source ' || p_source || ' deleted' || coalesce(' (' || g.last_error || ')', ''),
	       g.lease_owner, g.created_at, g.started_at, clock_timestamp()
	  FROM gone g;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END;
$$;

-- Cancels the jobs of source p_source (pgkb.source_jobs).
CREATE FUNCTION pgkb.source_cancel_jobs(p_source text, p_documents boolean DEFAULT true) RETURNS integer
LANGUAGE sql AS $$
	SELECT pgkb.source_cancel_job_ids(ARRAY(SELECT pgkb.source_jobs(p_source, p_documents)), p_source)
$$;

-- One step of deleting source p_source: the first marks it and cancels its crawls and jobs; each step then
-- removes up to p_batch rows of one table (chunks, code examples, page metadata, documents, crawls, in that
-- order, so no cascade or SET NULL fires per row); the last removes the archon_sources row and the mark.
-- done is true when the source is gone. Call it in a loop, each call its own transaction (pgkb.source_delete
-- does). Raises when the source neither exists nor is being deleted.
CREATE FUNCTION pgkb.source_delete_step(p_source text, p_batch integer DEFAULT 5000,
                                        OUT deleted bigint, OUT done boolean)
LANGUAGE plpgsql AS $$
DECLARE
	doc_ids bigint[];
BEGIN
	deleted := 0;
	done := false;
	IF p_batch IS NULL OR p_batch < 1 OR p_batch > 1000000 THEN
		RAISE EXCEPTION 'pgkb: source_delete: batch must be from 1 to 1000000, not %', p_batch
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pgkb.source_deletions WHERE source_id = p_source) THEN
		IF NOT EXISTS (SELECT 1 FROM public.archon_sources WHERE source_id = p_source) THEN
			RAISE EXCEPTION 'pgkb: source % does not exist', p_source USING ERRCODE = 'no_data_found';
		END IF;
		INSERT INTO pgkb.source_deletions (source_id) VALUES (p_source) ON CONFLICT DO NOTHING;
		UPDATE pgkb.crawls SET status = 'cancelled', finished_at = now(), error = 'source deleted'
		 WHERE source_id = p_source AND status = 'running';
		PERFORM pgkb.source_cancel_jobs(p_source);
		RETURN;
	END IF;
	-- a frontier claim that read its crawl as running just before the mark may have enqueued fetches since
	PERFORM pgkb.source_cancel_jobs(p_source, false);
	DELETE FROM public.archon_crawled_pages WHERE id IN
		(SELECT id FROM public.archon_crawled_pages WHERE source_id = p_source LIMIT p_batch);
	GET DIAGNOSTICS deleted = ROW_COUNT;
	IF deleted = 0 THEN
		DELETE FROM public.archon_code_examples WHERE id IN
			(SELECT id FROM public.archon_code_examples WHERE source_id = p_source LIMIT p_batch);
		GET DIAGNOSTICS deleted = ROW_COUNT;
	END IF;
	IF deleted = 0 THEN
		DELETE FROM public.archon_page_metadata WHERE id IN
			(SELECT id FROM public.archon_page_metadata WHERE source_id = p_source LIMIT p_batch);
		GET DIAGNOSTICS deleted = ROW_COUNT;
	END IF;
	IF deleted = 0 THEN
		-- with each batch of documents, the ingest and embed jobs that name them: one that a result committing
		-- while the source was being marked enqueued escaped the first step's cancellation
		doc_ids := ARRAY(SELECT id FROM pgkb.documents WHERE source_id = p_source LIMIT p_batch);
		PERFORM pgkb.source_cancel_job_ids(ARRAY(
			SELECT j.id FROM pgkb.jobs j
			 WHERE j.kind IN ('ingest', 'embed') AND j.payload ->> 'document_id' = ANY (doc_ids::text[])), p_source);
		DELETE FROM pgkb.documents WHERE id = ANY (doc_ids);
		GET DIAGNOSTICS deleted = ROW_COUNT;
	END IF;
	IF deleted = 0 THEN
		DELETE FROM pgkb.crawls WHERE id IN (SELECT id FROM pgkb.crawls WHERE source_id = p_source LIMIT p_batch);
		GET DIAGNOSTICS deleted = ROW_COUNT;
	END IF;
	IF deleted > 0 THEN
		UPDATE pgkb.source_deletions SET deleted = source_deletions.deleted + source_delete_step.deleted
		 WHERE source_id = p_source;
		RETURN;
	END IF;
	-- nothing left but the source itself: the jobs once more (by document too: none remain), then the row
	PERFORM pgkb.source_cancel_jobs(p_source);
	DELETE FROM pgkb.source_word_deltas WHERE source_id = p_source;
	DELETE FROM public.archon_sources WHERE source_id = p_source;
	GET DIAGNOSTICS deleted = ROW_COUNT;
	DELETE FROM pgkb.source_deletions WHERE source_id = p_source;
	done := true;
END;
$$;

-- Deletes source p_source, committing after each batch: CALL pgkb.source_delete('id'). A procedure, as only a
-- procedure can commit between batches; outside a transaction block. Run again to finish a killed deletion.
CREATE PROCEDURE pgkb.source_delete(p_source text, p_batch integer DEFAULT 5000)
LANGUAGE plpgsql AS $$
DECLARE
	s record;
BEGIN
	LOOP
		SELECT * INTO s FROM pgkb.source_delete_step(p_source, p_batch);
		COMMIT;
		EXIT WHEN s.done;
	END LOOP;
END;
$$;

-- Changes what a user may set on a source: its title, tags (replacing them), knowledge type (technical or
-- business, as Archon has it) and update_frequency in days (0: never re-crawled; schedule_recrawls, 060).
-- NULL leaves a value as it is. Returns false when the source does not exist.
CREATE FUNCTION pgkb.source_set(p_source text, p_title text DEFAULT NULL, p_tags text[] DEFAULT NULL,
                                p_knowledge_type text DEFAULT NULL, p_update_frequency numeric DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
	IF p_title IS NOT NULL AND (btrim(p_title) = '' OR char_length(p_title) > 500) THEN
		RAISE EXCEPTION 'pgkb: source_set: the title must have 1 to 500 characters' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_tags IS NOT NULL AND (cardinality(p_tags) > 100 OR array_position(p_tags, NULL) IS NOT NULL
	                           OR EXISTS (SELECT 1 FROM unnest(p_tags) t WHERE btrim(t) = '' OR char_length(t) > 100)) THEN
		RAISE EXCEPTION 'pgkb: source_set: at most 100 tags, each of 1 to 100 characters' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_knowledge_type IS NOT NULL AND p_knowledge_type NOT IN ('technical', 'business') THEN
		RAISE EXCEPTION 'pgkb: source_set: knowledge type must be technical or business, not "%"', p_knowledge_type
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_update_frequency IS NOT NULL AND NOT p_update_frequency BETWEEN 0 AND 36500 THEN
		RAISE EXCEPTION 'pgkb: source_set: update frequency must be a number of days from 0 to 36500, not %', p_update_frequency
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM pgkb.source_refuse_deleted(p_source);
	UPDATE public.archon_sources SET
		title = coalesce(p_title, title),
		metadata = coalesce(metadata, '{}') || jsonb_strip_nulls(jsonb_build_object(
			'tags', to_jsonb(p_tags), 'knowledge_type', p_knowledge_type, 'update_frequency', p_update_frequency))
	 WHERE source_id = p_source;
	RETURN FOUND;
END;
$$;

-- The sources with what they hold: documents by status, chunks, vectors by model, the last crawl and ingest.
-- p_source NULL: all of them. type: 'crawl' (a web source), 'file' or 'inline', from its URL.
CREATE FUNCTION pgkb.source_list(p_source text DEFAULT NULL)
RETURNS TABLE (source_id text, title text, type text, knowledge_type text, tags jsonb, update_frequency numeric,
               source_url text, documents jsonb, chunks bigint, code_examples bigint, vectors jsonb,
               words integer, last_crawl timestamptz, last_crawl_status text, last_ingest timestamptz,
               deleting boolean)
LANGUAGE sql STABLE AS $$
	SELECT s.source_id, coalesce(s.title, s.source_display_name),
	       CASE WHEN s.source_url ~* '^https?://' THEN 'crawl' WHEN s.source_url LIKE 'file://%' THEN 'file'
	            WHEN s.metadata ->> 'source_type' = 'file' THEN 'file' ELSE 'inline' END,
	       s.metadata ->> 'knowledge_type', s.metadata -> 'tags',
	       CASE WHEN jsonb_typeof(s.metadata -> 'update_frequency') = 'number'
	            THEN (s.metadata ->> 'update_frequency')::numeric END,
	       s.source_url,
	       coalesce((SELECT jsonb_object_agg(x.status, x.n ORDER BY x.status)
	                   FROM (SELECT d.status, count(*) AS n FROM pgkb.documents d
	                          WHERE d.source_id = s.source_id GROUP BY d.status) x), '{}'),
	       (SELECT count(*) FROM public.archon_crawled_pages p WHERE p.source_id = s.source_id),
	       (SELECT count(*) FROM public.archon_code_examples e WHERE e.source_id = s.source_id),
	       coalesce((SELECT jsonb_object_agg(v.model, v.n ORDER BY v.model)
	                   FROM (SELECT p.embedding_model AS model, count(*) AS n FROM public.archon_crawled_pages p
	                          WHERE p.source_id = s.source_id AND p.embedding_model IS NOT NULL
	                          GROUP BY p.embedding_model) v), '{}'),
	       s.total_word_count,
	       c.started_at, c.status,
	       (SELECT max(m.updated_at) FROM public.archon_page_metadata m WHERE m.source_id = s.source_id),
	       EXISTS (SELECT 1 FROM pgkb.source_deletions x WHERE x.source_id = s.source_id)
	  FROM public.archon_sources s
	  LEFT JOIN LATERAL (SELECT c.started_at, c.status FROM pgkb.crawls c WHERE c.source_id = s.source_id
	                      ORDER BY c.started_at DESC LIMIT 1) c ON true
	 WHERE p_source IS NULL OR s.source_id = p_source
	 ORDER BY s.source_id
$$;

-- The owner of url p_url other than p_source, if any: the source of its page or of its chunks.
CREATE FUNCTION pgkb.url_other_owner(p_url text, p_source text) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT coalesce(
		(SELECT m.source_id FROM public.archon_page_metadata m WHERE m.url = p_url AND m.source_id <> p_source),
		(SELECT p.source_id FROM public.archon_crawled_pages p WHERE p.url = p_url AND p.source_id <> p_source LIMIT 1))
$$;

-- A document never turns ready while another source owns its URL. ingest_document checks before it writes;
-- this catches the other ways to ready (a re-fetch that finds the body unchanged, 304) of a document that
-- failed for that reason. Fires only for those rare transitions, not for each ingest.
CREATE FUNCTION pgkb.documents_ready_owned() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	owner text := pgkb.url_other_owner(NEW.url, NEW.source_id);
BEGIN
	IF owner IS NOT NULL THEN
		NEW.status := 'failed';
		NEW.ready_at := OLD.ready_at;
		NEW.error := 'url ' || NEW.url || ' is owned by source ' || owner;
	END IF;
	RETURN NEW;
END;
$$;
CREATE TRIGGER documents_ready_owned BEFORE UPDATE OF status ON pgkb.documents
	FOR EACH ROW WHEN (NEW.status = 'ready' AND OLD.status NOT IN ('fetched', 'chunked', 'embedded', 'ready'))
	EXECUTE FUNCTION pgkb.documents_ready_owned();


