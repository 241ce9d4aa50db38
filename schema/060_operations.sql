-- Operations: the least-privilege worker role, pruning of gone documents, and scheduled re-crawls.

-- Grants a role exactly what pgkb's workers (and pgkb enqueue/status/jobs/retry/cancel) need, and nothing else:
-- USAGE on the schemas pgkb and public (never CREATE), SELECT/INSERT/UPDATE/DELETE on pgkb's tables and the
-- Archon knowledge-base tables the workers write (SELECT only on pgkb.job_kinds: kinds come with migrations), SELECT on archon_settings, USAGE/SELECT on those tables'
-- sequences, EXECUTE on pgkb's functions. Migrations stay with the owner: the role gets no DDL, no TRUNCATE,
-- no access to archon_migrations or Archon's project tables. Run it as the owner after `pgkb migrate`, and
-- again after a later migration adds tables:
--   CREATE ROLE pgkb_worker LOGIN PASSWORD '...';
--   SELECT pgkb.grant_worker_role('pgkb_worker');
-- For complete figures from pg_stat_activity in the metrics (other roles' transactions), also
--   GRANT pg_monitor TO pgkb_worker;
-- Each table gets the privileges of the statements the workers and `pgkb enqueue/status/jobs/retry/cancel` run
-- on it (lib/pg/queue.c, workers/*, cmd/pgkb/*, and the pgkb functions they call, which run with the caller's
-- privileges); any other table of pgkb gets SELECT. No DELETE on archon_sources (it cascades to a source's
-- pages, chunks, documents and crawls: deleting a source is the owner's work) and no UPDATE of job_history.
-- Running it again revokes what an earlier grant gave, so an existing worker role is narrowed by running it
-- once more.
CREATE FUNCTION pgkb.grant_worker_role(p_role name) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	-- table => privileges beyond SELECT (UPDATE also for SELECT ... FOR UPDATE and ON CONFLICT DO UPDATE)
	writes constant jsonb := '{
		"pgkb.jobs": "INSERT, UPDATE, DELETE",
		"pgkb.job_history": "INSERT, DELETE",
		"pgkb.wakeups": "INSERT, UPDATE",
		"pgkb.noop_log": "INSERT",
		"pgkb.crawls": "INSERT, UPDATE",
		"pgkb.documents": "INSERT, UPDATE, DELETE",
		"pgkb.host_politeness": "INSERT, UPDATE",
		"pgkb.source_word_deltas": "INSERT, DELETE",
		"public.archon_sources": "INSERT, UPDATE",
		"public.archon_page_metadata": "INSERT, UPDATE, DELETE",
		"public.archon_crawled_pages": "INSERT, UPDATE, DELETE",
		"public.archon_code_examples": "INSERT, UPDATE, DELETE"
	}';
	kb_tables constant text[] := ARRAY['archon_sources', 'archon_page_metadata', 'archon_crawled_pages',
	                                   'archon_code_examples'];
	t regclass;
	f regprocedure;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = p_role) THEN
		RAISE EXCEPTION 'pgkb: role "%" does not exist', p_role USING ERRCODE = 'undefined_object';
	END IF;
	EXECUTE format('GRANT USAGE ON SCHEMA pgkb, public TO %I', p_role);
	-- Databases created before PostgreSQL 15 let every role create objects in public: say so once.
	IF EXISTS (SELECT 1 FROM pg_namespace n, aclexplode(n.nspacl) a
	            WHERE n.nspname = 'public' AND a.grantee = 0 AND a.privilege_type = 'CREATE') THEN
		RAISE WARNING 'pgkb: every role (PUBLIC) may CREATE in schema public, so % can too', p_role
			USING HINT = 'REVOKE CREATE ON SCHEMA public FROM PUBLIC;';
	END IF;
	FOR t IN
		SELECT c.oid::regclass FROM pg_class c
		 WHERE c.relkind IN ('r', 'p', 'v')
		   AND (c.relnamespace = 'pgkb'::regnamespace
		        OR (c.relnamespace = 'public'::regnamespace AND c.relname = ANY (kb_tables)))
	LOOP
		EXECUTE format('REVOKE ALL ON %s FROM %I', t, p_role);
		EXECUTE format('GRANT SELECT%s ON %s TO %I',
		               coalesce(', ' || (writes ->> (SELECT n.nspname || '.' || c.relname FROM pg_class c
		                                               JOIN pg_namespace n ON n.oid = c.relnamespace
		                                              WHERE c.oid = t)), ''),
		               t, p_role);
	END LOOP;
	IF to_regclass('public.archon_settings') IS NOT NULL THEN
		EXECUTE format('GRANT SELECT ON public.archon_settings TO %I', p_role);
	END IF;
	-- sequences of those tables (serial and identity columns), and any other pgkb sequence
	FOR t IN
		SELECT DISTINCT s.oid::regclass FROM pg_class s
		  LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.deptype IN ('a', 'i')
		  LEFT JOIN pg_class o ON o.oid = d.refobjid
		 WHERE s.relkind = 'S'
		   AND (s.relnamespace = 'pgkb'::regnamespace
		        OR (o.relnamespace = 'public'::regnamespace AND o.relname = ANY (kb_tables)))
	LOOP
		EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE %s TO %I', t, p_role);
	END LOOP;
	FOR f IN
		SELECT p.oid::regprocedure FROM pg_proc p
		 WHERE p.pronamespace = 'pgkb'::regnamespace AND p.prokind = 'f'
		   AND p.proname NOT IN ('grant_worker_role', 'install_search_functions', 'enable_pgvector')
	LOOP
		EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', f, p_role);
	END LOOP;
END;
$$;
REVOKE EXECUTE ON FUNCTION pgkb.grant_worker_role(name) FROM PUBLIC;

-- Documents that vanished from their site (status gone) are kept for a while (a page that comes back keeps its
-- history), then deleted here (the index documents_gone, 020, finds them).
-- Deletes up to p_limit documents whose status has been gone for longer than p_retention, with whatever chunk,
-- code-example and page rows of the same source and URL are left. One caller at a time does the work: the
-- others (every worker calls it periodically) return 0 at once. Returns the number of documents deleted.
CREATE FUNCTION pgkb.prune_gone_documents(p_retention interval, p_limit integer DEFAULT 1000) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	n integer;
BEGIN
	IF NOT pg_try_advisory_xact_lock(hashtextextended('pgkb.prune_gone_documents', 0)) THEN
		RETURN 0;
	END IF;
	WITH gone AS MATERIALIZED (
		SELECT id, source_id, url FROM pgkb.documents
		 WHERE status = 'gone' AND updated_at < clock_timestamp() - p_retention
		 ORDER BY updated_at
		 LIMIT p_limit
		   FOR UPDATE SKIP LOCKED
	), chunks AS (
		DELETE FROM public.archon_crawled_pages p USING gone g WHERE p.url = g.url AND p.source_id = g.source_id
	), code AS (
		DELETE FROM public.archon_code_examples e USING gone g WHERE e.url = g.url AND e.source_id = g.source_id
	), pages AS (
		DELETE FROM public.archon_page_metadata m USING gone g WHERE m.url = g.url AND m.source_id = g.source_id
	)
	DELETE FROM pgkb.documents d USING gone g WHERE d.id = g.id;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END;
$$;

-- Scheduled re-crawls. A source is due when metadata.update_frequency (days, as Archon stores it; a positive
-- number) has passed since its last crawl started, or since the last re-crawl job was enqueued, or since the
-- source was created when it was never crawled. A due source gets one crawl job with dedupe key
-- recrawl:<source_id> (so at most one is active), the URL and options of its last crawl (else its source_url)
-- and its knowledge_type and tags. Sources with a crawl running, and non-http(s) sources (files), are
-- skipped. One caller at a time; returns the number of jobs enqueued (at most p_limit).
CREATE FUNCTION pgkb.schedule_recrawls(p_limit integer DEFAULT 100) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	n integer;
	bad record;
BEGIN
	IF NOT pg_try_advisory_xact_lock(hashtextextended('pgkb.schedule_recrawls', 0)) THEN
		RETURN 0;
	END IF;
	-- update_frequency is days from 0 (never) to 36500; anything else (1e20 days fits no interval and made
	-- every call raise "timestamp out of range", so that no source was re-crawled) is skipped, with a warning
	-- naming the source (the first 10 per call)
	FOR bad IN SELECT s.source_id, s.metadata -> 'update_frequency' AS v
	             FROM public.archon_sources s
	            WHERE jsonb_typeof(s.metadata -> 'update_frequency') = 'number'
	              AND NOT (s.metadata ->> 'update_frequency')::numeric BETWEEN 0 AND 36500
	            ORDER BY s.source_id LIMIT 10 LOOP
		RAISE WARNING 'pgkb.schedule_recrawls: source % has metadata.update_frequency %, not a number of days from 0 to 36500; it is not re-crawled',
			bad.source_id, bad.v;
	END LOOP;
	WITH src AS (
		SELECT s.source_id, s.source_url, s.created_at, s.metadata,
		       -- the CASE keeps a bad value out of make_interval whatever order the planner checks quals in
		       CASE WHEN (s.metadata ->> 'update_frequency')::numeric BETWEEN 0 AND 36500
		            THEN make_interval(secs => (s.metadata ->> 'update_frequency')::numeric * 86400) END AS every
		  FROM public.archon_sources s
		 WHERE jsonb_typeof(s.metadata -> 'update_frequency') = 'number'
		   AND (s.metadata ->> 'update_frequency')::numeric > 0
		   AND (s.metadata ->> 'update_frequency')::numeric <= 36500
	), last AS (
		SELECT src.*, lc.root_url, lc.options,
		       greatest(lc.started_at, lj.created_at, src.created_at) AS last_at
		  FROM src
		  LEFT JOIN LATERAL (SELECT c.root_url, c.options, c.started_at FROM pgkb.crawls c
		                      WHERE c.source_id = src.source_id ORDER BY c.started_at DESC LIMIT 1) lc ON true
		  LEFT JOIN LATERAL (SELECT max(j.created_at) AS created_at FROM pgkb.jobs j
		                      WHERE j.dedupe_key = 'recrawl:' || src.source_id) lj ON true
	), due AS (
		SELECT l.* FROM last l
		 WHERE coalesce(l.root_url, l.source_url) ~* '^https?://'
		   AND l.last_at < clock_timestamp() - l.every
		   AND NOT EXISTS (SELECT 1 FROM pgkb.crawls c WHERE c.source_id = l.source_id AND c.status = 'running')
		 ORDER BY l.last_at
		 LIMIT p_limit
	)
	INSERT INTO pgkb.jobs (kind, payload, dedupe_key)
	SELECT 'crawl',
	       coalesce(d.options, '{}') || jsonb_strip_nulls(jsonb_build_object(
	           'url', coalesce(d.root_url, d.source_url), 'source_id', d.source_id,
	           'knowledge_type', CASE WHEN jsonb_typeof(d.metadata -> 'knowledge_type') = 'string'
	                                  THEN d.metadata -> 'knowledge_type' END,
	           'tags', CASE WHEN jsonb_typeof(d.metadata -> 'tags') = 'array' THEN d.metadata -> 'tags' END)),
	       'recrawl:' || d.source_id
	  FROM due d;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END;
$$;
