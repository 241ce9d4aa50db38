-- Bounds on what an INSERT into pgkb.jobs may set, and a least-privilege worker role (the attack review,
-- issue "Security and reliability").
--
-- Any role that may enqueue may set every column of a job. Unbounded, one row could stall a job kind (attempts
-- 2147483647: the claim's attempts + 1 overflowed, so every claim of that kind failed) or a worker's memory (a
-- 100 MB payload, eight of them in one claim). Each column a job's lifecycle depends on is now checked.
--
-- Why CHECK (condition OR pgkb.job_refused(...)) rather than a bare condition: PostgreSQL's own message names
-- only the constraint and prints the failing row; this one says what is allowed and what was given. The
-- condition is plain SQL, so the claims, renewals and completions that update a row (and re-check every
-- CHECK) pay for a comparison, not a function call: pgkb.job_refused runs only when the condition is false.

-- Raises check_violation: "pgkb: job <what> must be <allowed>, got <given>". Never returns normally. VOLATILE
-- (the default) on purpose: an IMMUTABLE one would be evaluated at planning time with its constant arguments.
CREATE FUNCTION pgkb.job_refused(what text, allowed text, given text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'pgkb: job % must be %, got %', what, allowed, coalesce(given, 'NULL')
		USING ERRCODE = 'check_violation';
END;
$$;

-- Rows that break a bound and were inserted before these constraints existed would fail their validation and
-- this migration: they are made dead, with bounded columns and a last_error saying why, so an operator sees
-- them in `pgkb jobs --dead` (a dead job is never claimed).
UPDATE pgkb.jobs SET
	state = 'dead', lease_owner = NULL, lease_until = NULL, run_at = now(),
	max_attempts = least(greatest(max_attempts, 1), 1000),
	attempts = least(greatest(attempts, 0), least(greatest(max_attempts, 1), 1000)),
	priority = least(greatest(priority, -1000), 1000),
	dedupe_key = CASE WHEN octet_length(dedupe_key) <= 512 THEN dedupe_key END,
	payload = CASE WHEN pg_column_size(payload) <= 33554432 THEN payload ELSE '{}' END,
	last_error = 'pgkb migration 081: this job broke a bound on its columns added then (attempts, max_attempts, '
	             'priority, run_at, lease or payload size) and was never run'
 WHERE NOT (max_attempts BETWEEN 1 AND 1000
            AND attempts >= 0 AND attempts <= max_attempts AND (state <> 'queued' OR attempts < max_attempts)
            AND priority BETWEEN -1000 AND 1000
            AND isfinite(run_at) AND run_at >= '2000-01-01' AND run_at < '2100-01-01'
            AND (state = 'running' OR (lease_owner IS NULL AND lease_until IS NULL))
            AND (lease_until IS NULL OR (isfinite(lease_until) AND lease_until < '2100-01-01'))
            AND (dedupe_key IS NULL OR octet_length(dedupe_key) <= 512)
            AND pg_column_size(payload) <= 33554432);

ALTER TABLE pgkb.jobs
	-- jobs_max_attempts (001: max_attempts >= 1) is replaced by jobs_max_attempts_bound, which also bounds it
	-- above and says so: checked first (constraints are checked in name order), the old one hid the message.
	DROP CONSTRAINT jobs_max_attempts,
	-- A job may be tried at most 1000 times: more is a loop, not a retry policy.
	ADD CONSTRAINT jobs_max_attempts_bound CHECK (max_attempts BETWEEN 1 AND 1000
		OR pgkb.job_refused('max_attempts', 'from 1 to 1000', max_attempts::text)),
	-- attempts counts the tries so far. A claim adds one to a queued job's, so a queued job must have a try
	-- left (attempts < max_attempts): then the claim can never overflow or break this bound. (A max_attempts
	-- out of its own bound is left to jobs_max_attempts_bound, whose message names it.)
	ADD CONSTRAINT jobs_attempts_bound CHECK (
		(attempts >= 0 AND attempts <= max_attempts AND (state <> 'queued' OR attempts < max_attempts))
		OR max_attempts NOT BETWEEN 1 AND 1000
		OR pgkb.job_refused('attempts', 'from 0 to max_attempts (' || max_attempts || '), and below it while queued',
		                    attempts::text)),
	ADD CONSTRAINT jobs_priority_bound CHECK (priority BETWEEN -1000 AND 1000
		OR pgkb.job_refused('priority', 'from -1000 to 1000 (lower runs first)', priority::text)),
	-- A job scheduled before 2000 or after 2100 is a mistake (or 'infinity', which no claim ever reaches).
	ADD CONSTRAINT jobs_run_at_bound CHECK (
		(isfinite(run_at) AND run_at >= '2000-01-01' AND run_at < '2100-01-01')
		OR pgkb.job_refused('run_at', 'a finite time from 2000-01-01 to 2100-01-01', run_at::text)),
	-- Only a running job holds a lease (CHECK jobs_lease says a running one holds both columns), and a lease
	-- must end, or rescue never returns the job to the queue.
	ADD CONSTRAINT jobs_lease_bound CHECK (
		((state = 'running' OR (lease_owner IS NULL AND lease_until IS NULL))
		 AND (lease_until IS NULL OR (isfinite(lease_until) AND lease_until < '2100-01-01')))
		OR pgkb.job_refused('lease_owner and lease_until', 'NULL unless the job is running, and a lease must end before 2100',
		                    state || ' job leased to ' || coalesce(lease_owner, 'NULL') || ' until '
		                    || coalesce(lease_until::text, 'NULL'))),
	-- The unique index jobs_dedupe holds the key: a btree entry cannot exceed about 2.7 kB anyway.
	ADD CONSTRAINT jobs_dedupe_key_bound CHECK (dedupe_key IS NULL OR octet_length(dedupe_key) <= 512
		OR pgkb.job_refused('dedupe_key', 'at most 512 bytes', octet_length(dedupe_key) || ' bytes')),
	-- 32 MiB: the largest inline document a worker takes by default (ingest.max_document_bytes, 20 MB) with room
	-- for its JSON (escapes, the other keys), while a worker holding a claim of such payloads stays bounded
	-- (lib/pg/queue.c bounds the bytes of one claim). pg_column_size is the size of the value as stored: at an
	-- INSERT of a new value, its full binary size; a larger document belongs in a file (ingest.roots) or a crawl.
	ADD CONSTRAINT jobs_payload_size_bound CHECK (pg_column_size(payload) <= 33554432
		OR pgkb.job_refused('payload', 'at most 32 MiB (33554432 bytes)', pg_column_size(payload) || ' bytes'));

-- The worker role, replaced (060 defined it) because it granted more than the workers use: DELETE on
-- archon_sources (which cascades to a source's pages, chunks, documents and crawls) and UPDATE on
-- pgkb.job_history. Each table now gets the privileges of the statements the workers and `pgkb
-- enqueue/status/jobs/retry/cancel` run on it (lib/pg/queue.c, workers/*, cmd/pgkb/cli_jobs.c, and the pgkb
-- functions they call, which run with the caller's privileges); any other table of pgkb gets SELECT. Running it
-- again revokes what an earlier version granted, so an existing worker role is narrowed by running it once more.
CREATE OR REPLACE FUNCTION pgkb.grant_worker_role(p_role name) RETURNS void
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

-- Administrative functions are the owner's (or a superuser's): a function is executable by PUBLIC unless
-- revoked, and these rewrite the search functions or the embedding columns.
REVOKE EXECUTE ON FUNCTION pgkb.enable_pgvector() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pgkb.install_search_functions() FROM PUBLIC;
