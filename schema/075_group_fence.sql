-- Completion for group commits (workers/worker.c): the results of the jobs that finish in one loop iteration
-- commit in one transaction, which opens with pgkb.complete_fenced for all of them: the completion is the
-- fence. It moves the jobs still leased to the caller to pgkb.job_history and raises KB001, naming the
-- others, unless every job was (the worker then sends each result again alone, so only those are refused and
-- their writes never commit). One statement and one row change per job, where a lock per job (pgkb.fence)
-- and a completion after the writes took two.

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
