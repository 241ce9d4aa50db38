-- pgkb job queue: the job kinds, pgkb.jobs (hot: queued/running/dead), pgkb.job_history (finished), throttled
-- wakeups, and completion.
--
-- Enqueue is a plain INSERT:  INSERT INTO pgkb.jobs(kind, payload) VALUES ('noop', '{}');
-- Optional columns: priority (lower runs first), run_at (schedule for later), max_attempts, dedupe_key.
--
-- The schema directory: `pgkb migrate` applies schema/NNN_*.sql in order, once each, and refuses a file that
-- changed after it was applied (archon_migrations keeps a checksum). So migrations are append-only from now on:
-- change the schema with a new file, numbered after the last one, never by editing an applied one. One concern
-- per file (001 queue, 010-012 Archon's tables and search, 020 documents, crawls and politeness, 030 ingest,
-- 040 crawl, 050 embed, 060 operations), each object defined in the file of its concern.
-- A new job kind is one row in a new migration, e.g.
--   INSERT INTO pgkb.job_kinds (kind, position, description) VALUES ('summarize', 60, 'summarizes a document');
-- pgkb.jobs accepts it at once; a worker runs it once the workers have a handler for it.

CREATE SCHEMA IF NOT EXISTS pgkb;

-- The kinds of job pgkb.jobs accepts; position orders them wherever they are listed (the rejection hint below).
CREATE TABLE pgkb.job_kinds (
	kind        text PRIMARY KEY,
	position    int  NOT NULL UNIQUE,
	description text NOT NULL
);
INSERT INTO pgkb.job_kinds (kind, position, description) VALUES
	('noop',   10, 'does nothing; with {"log": true} records its run in pgkb.noop_log (health checks)'),
	('crawl',  20, 'crawls a site from its root URL: robots.txt, sitemaps and links, one fetch job per page'),
	('fetch',  30, 'fetches one page of a crawl and claims the links it finds'),
	('ingest', 40, 'writes a fetched document, a file or directory, or inline text into the knowledge base'),
	('embed',  50, 'embeds the chunks and code examples of a document that still lack an embedding');

-- Rejects non-object payloads with a message that says so (CHECK jobs_valid). The kind is checked against
-- pgkb.job_kinds by the triggers jobs_known_kind below, not here: PostgreSQL takes a CHECK's condition for
-- immutable (a restore may check jobs before it has loaded the kinds), so a CHECK must not read a table.
CREATE FUNCTION pgkb.job_is_valid(payload jsonb) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
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
	CONSTRAINT jobs_valid CHECK (pgkb.job_is_valid(payload)),
	CONSTRAINT jobs_state CHECK (state IN ('queued', 'running', 'dead')),
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

-- The kind of every new job must be a row of pgkb.job_kinds. Checked once per INSERT statement over its new
-- rows (the transition table jobs_notify_insert captures anyway), not once per row: a bulk enqueue pays one
-- anti-join, not a lookup per row. Named to fire before jobs_notify_insert, so a rejected statement wakes no one.
-- An UPDATE that changes a job's kind is checked by row, as it is rare and must not slow claims.
CREATE FUNCTION pgkb.jobs_known_kind() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	bad text;
BEGIN
	IF TG_LEVEL = 'ROW' THEN
		bad := NEW.kind;
		IF EXISTS (SELECT 1 FROM pgkb.job_kinds k WHERE k.kind = NEW.kind) THEN
			RETURN NEW;
		END IF;
	ELSE
		SELECT n.kind INTO bad FROM new_jobs n
		 WHERE NOT EXISTS (SELECT 1 FROM pgkb.job_kinds k WHERE k.kind = n.kind) LIMIT 1;
		IF NOT FOUND THEN
			RETURN NULL;
		END IF;
	END IF;
	RAISE EXCEPTION 'pgkb: unknown job kind "%"', bad
		USING ERRCODE = 'check_violation',
		      HINT = 'known kinds: ' || (SELECT string_agg(k.kind, ', ' ORDER BY k.position) FROM pgkb.job_kinds k);
END;
$$;
CREATE TRIGGER jobs_known_kind AFTER INSERT ON pgkb.jobs
	REFERENCING NEW TABLE AS new_jobs FOR EACH STATEMENT EXECUTE FUNCTION pgkb.jobs_known_kind();
CREATE TRIGGER jobs_known_kind_update BEFORE UPDATE OF kind ON pgkb.jobs
	FOR EACH ROW WHEN (NEW.kind IS DISTINCT FROM OLD.kind) EXECUTE FUNCTION pgkb.jobs_known_kind();

-- Wakeups: one NOTIFY per kind per interval at most, never one per row. A transaction that finds the
-- kind's row locked by another notifier skips (that one's NOTIFY wakes the workers); workers also claim
-- once more shortly after each wakeup and poll, so a job inserted inside the interval is not stranded.
CREATE UNLOGGED TABLE pgkb.wakeups (
	kind        text PRIMARY KEY,
	notified_at timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO pgkb.wakeups(kind) SELECT kind FROM pgkb.job_kinds;

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

-- Completion, which is also the fence. The results of the jobs that finish in one loop iteration of a worker
-- (workers/core/worker.c) commit in one transaction, which opens with pgkb.complete_fenced for all of them. It
-- moves the jobs still leased to the caller to pgkb.job_history and raises KB001, naming the others, unless
-- every job was (the worker then sends each result again alone, so only those are refused and their writes
-- never commit): a worker whose lease was taken over writes nothing. One statement and one row change per
-- job, where a lock per job first and a completion after the writes would take two.

-- Completes the jobs of job_ids, at the attempts of job_attempts, that are still leased to owner; returns
-- their ids. The one completion, for results with writes and without.
-- (plpgsql, which keeps its plans across calls: a LANGUAGE sql function would plan its DML on every call)
-- The lease is checked by its columns, not by "state = 'running'" (equivalent by CHECK jobs_lease): that
-- condition would let the planner serve this lookup by id from the partial index jobs_running, reading every
-- running job for each completion, as a generic plan made while pgkb.jobs is nearly empty does.
CREATE FUNCTION pgkb.complete(job_ids bigint[], job_attempts integer[], owner text) RETURNS SETOF bigint
LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	FOR r IN
		WITH done AS (
			DELETE FROM pgkb.jobs j
			 WHERE j.id = ANY (job_ids) AND j.lease_owner = owner AND j.lease_until IS NOT NULL
			   AND j.attempts = job_attempts[array_position(job_ids, j.id)]
			RETURNING j.id, j.kind, j.payload, j.priority, j.attempts, j.last_error, j.lease_owner, j.created_at,
			          j.started_at)
		INSERT INTO pgkb.job_history
			(id, kind, payload, priority, state, attempts, last_error, worker, created_at, started_at, finished_at)
		SELECT d.id, d.kind, d.payload, d.priority, 'succeeded', d.attempts, d.last_error, d.lease_owner, d.created_at,
		       d.started_at, clock_timestamp()
		  FROM done d
		RETURNING job_history.id
	LOOP
		RETURN NEXT r.id;
	END LOOP;
END;
$$;

CREATE FUNCTION pgkb.complete_fenced(job_ids bigint[], job_attempts integer[], owner text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	done bigint[];
	lost text;
BEGIN
	done := ARRAY(SELECT pgkb.complete(job_ids, job_attempts, owner));
	IF cardinality(done) < cardinality(job_ids) THEN
		SELECT CASE WHEN count(*) = 1 THEN 'job ' ELSE 'jobs ' END || string_agg(f.id::text, ', ' ORDER BY f.ord)
		       || CASE WHEN count(*) = 1 THEN ' is' ELSE ' are' END INTO lost
		  FROM unnest(job_ids) WITH ORDINALITY AS f(id, ord)
		 WHERE f.id <> ALL (done);
		RAISE EXCEPTION 'pgkb: % no longer leased to %', lost, owner
			USING ERRCODE = 'KB001';
	END IF;
END;
$$;
