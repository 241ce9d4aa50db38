-- pgkb job queue: pgkb.jobs (hot: queued/running/dead), pgkb.job_history (finished), throttled wakeups.
--
-- Enqueue is a plain INSERT:  INSERT INTO pgkb.jobs(kind, payload) VALUES ('noop', '{}');
-- Optional columns: priority (lower runs first), run_at (schedule for later), max_attempts, dedupe_key.

CREATE SCHEMA IF NOT EXISTS pgkb;

-- Rejects unknown kinds and non-object payloads with a message that says so. Later migrations that add a
-- job kind replace this function.
CREATE FUNCTION pgkb.job_is_valid(kind text, payload jsonb) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF kind IS NULL OR kind NOT IN ('noop', 'crawl', 'fetch', 'ingest', 'embed') THEN
		RAISE EXCEPTION 'pgkb: unknown job kind "%"', kind
			USING ERRCODE = 'check_violation',
			      HINT = 'known kinds: noop, crawl, fetch, ingest, embed';
	END IF;
	IF payload IS NULL OR jsonb_typeof(payload) <> 'object' THEN
		RAISE EXCEPTION 'pgkb: job payload must be a JSON object, got %', coalesce(jsonb_typeof(payload), 'NULL')
			USING ERRCODE = 'check_violation',
			      HINT = 'for example: INSERT INTO pgkb.jobs(kind, payload) VALUES (''noop'', ''{}'')';
	END IF;
	RETURN true;
END;
$$;

CREATE TABLE pgkb.jobs (
	id           bigserial PRIMARY KEY,
	kind         text        NOT NULL,
	payload      jsonb       NOT NULL DEFAULT '{}',
	priority     smallint    NOT NULL DEFAULT 0,
	run_at       timestamptz NOT NULL DEFAULT now(),
	state        text        NOT NULL DEFAULT 'queued',
	attempts     integer     NOT NULL DEFAULT 0,
	max_attempts integer     NOT NULL DEFAULT 5,
	lease_owner  text,
	lease_until  timestamptz,
	started_at   timestamptz,
	last_error   text,
	dedupe_key   text,
	created_at   timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT jobs_valid CHECK (pgkb.job_is_valid(kind, payload)),
	CONSTRAINT jobs_state CHECK (state IN ('queued', 'running', 'dead')),
	CONSTRAINT jobs_max_attempts CHECK (max_attempts >= 1),
	CONSTRAINT jobs_lease CHECK ((state = 'running') = (lease_owner IS NOT NULL AND lease_until IS NOT NULL))
);
-- Claims walk this index: ready jobs of one kind in priority, run_at, id order.
CREATE INDEX jobs_ready ON pgkb.jobs (kind, priority, run_at, id) WHERE state = 'queued';
-- Rescue finds expired leases, hand-back a dead worker's jobs, through the (small) set of running jobs.
-- Completion and renewal go by primary key. Every index here is written by each claim, so keep them few.
CREATE INDEX jobs_running ON pgkb.jobs (lease_until) WHERE state = 'running';
-- At most one active (queued or running) job per dedupe key.
CREATE UNIQUE INDEX jobs_dedupe ON pgkb.jobs (dedupe_key) WHERE dedupe_key IS NOT NULL AND state <> 'dead';
ALTER TABLE pgkb.jobs SET (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02,
                           autovacuum_vacuum_insert_scale_factor = 0.05);

-- A plain INSERT of a job whose dedupe key is already active is skipped instead of failing.
CREATE FUNCTION pgkb.jobs_dedupe() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_advisory_xact_lock(hashtextextended('pgkb.dedupe:' || NEW.dedupe_key, 0));
	IF EXISTS (SELECT 1 FROM pgkb.jobs WHERE dedupe_key = NEW.dedupe_key AND state <> 'dead') THEN
		RETURN NULL;
	END IF;
	RETURN NEW;
END;
$$;
CREATE TRIGGER jobs_dedupe BEFORE INSERT ON pgkb.jobs
	FOR EACH ROW WHEN (NEW.dedupe_key IS NOT NULL) EXECUTE FUNCTION pgkb.jobs_dedupe();

-- Wakeups: one NOTIFY per kind per interval at most, never one per row. A transaction that finds the
-- kind's row locked by another notifier skips (that one's NOTIFY wakes the workers); workers also claim
-- once more shortly after each wakeup and poll, so a job inserted inside the interval is not stranded.
CREATE UNLOGGED TABLE pgkb.wakeups (
	kind        text PRIMARY KEY,
	notified_at timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO pgkb.wakeups(kind) VALUES ('noop'), ('crawl'), ('fetch'), ('ingest'), ('embed');

CREATE FUNCTION pgkb.jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	k text;
BEGIN
	FOR k IN SELECT DISTINCT n.kind FROM new_jobs n WHERE n.state = 'queued' LOOP
		PERFORM 1 FROM pgkb.wakeups w
		 WHERE w.kind = k AND w.notified_at < clock_timestamp() - interval '5 milliseconds'
		   FOR UPDATE SKIP LOCKED;
		IF FOUND THEN
			UPDATE pgkb.wakeups SET notified_at = clock_timestamp() WHERE kind = k;
			PERFORM pg_notify('pgkb_jobs', k);
		ELSIF NOT EXISTS (SELECT 1 FROM pgkb.wakeups WHERE kind = k) THEN
			-- an unlogged table is empty after a server crash: heal it
			INSERT INTO pgkb.wakeups(kind, notified_at) VALUES (k, clock_timestamp()) ON CONFLICT DO NOTHING;
			PERFORM pg_notify('pgkb_jobs', k);
		END IF;
	END LOOP;
	RETURN NULL;
END;
$$;
CREATE TRIGGER jobs_notify_insert AFTER INSERT ON pgkb.jobs
	REFERENCING NEW TABLE AS new_jobs FOR EACH STATEMENT EXECUTE FUNCTION pgkb.jobs_notify();

-- Finished jobs: succeeded, cancelled, or dead jobs removed by cancel. Pruned by age.
CREATE TABLE pgkb.job_history (
	id          bigint      NOT NULL,
	kind        text        NOT NULL,
	payload     jsonb       NOT NULL,
	priority    smallint    NOT NULL,
	state       text        NOT NULL CHECK (state IN ('succeeded', 'cancelled', 'dead')),
	attempts    integer     NOT NULL,
	last_error  text,
	worker      text,
	created_at  timestamptz NOT NULL,
	started_at  timestamptz,
	finished_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX job_history_finished ON pgkb.job_history USING brin (finished_at);
CREATE INDEX job_history_id ON pgkb.job_history (id);

-- Health-check record: a noop job with {"log": true} writes one row here in the same transaction as its
-- completion, so exactly-once effects can be observed.
CREATE TABLE pgkb.noop_log (
	job_id   bigint      NOT NULL,
	attempt  integer     NOT NULL,
	worker   text        NOT NULL,
	payload  jsonb       NOT NULL,
	done_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX noop_log_job ON pgkb.noop_log (job_id);

-- Wakes the workers of one kind now (used by hand-back, rescue and retry, which are UPDATEs).
CREATE FUNCTION pgkb.wake(k text) RETURNS void LANGUAGE sql AS $$ SELECT pg_notify('pgkb_jobs', k) $$;

-- Completion fence: raises unless the job is still leased to this worker for this attempt. Called first
-- in a job's result transaction, so a worker whose lease was taken over writes nothing.
CREATE FUNCTION pgkb.fence(job_id bigint, owner text, attempt integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM pgkb.jobs
	 WHERE id = job_id AND state = 'running' AND lease_owner = owner AND attempts = attempt
	   FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'pgkb: job % is no longer leased to %', job_id, owner
			USING ERRCODE = 'KB001';
	END IF;
END;
$$;
