-- Bounds on what an INSERT into pgkb.jobs may set (the attack review,
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


