-- A job's lease is checked by id on every completion. "state = 'running'" in that check lets the planner
-- serve it from the partial index jobs_running (WHERE state = 'running') instead of the primary key, reading
-- every running job for each completion; a generic plan made while pgkb.jobs is nearly empty does exactly
-- that. By CHECK jobs_lease, a job with a lease owner and a lease end is running, so the check names those
-- columns instead and only the primary key can serve it. Otherwise unchanged (075).
CREATE OR REPLACE FUNCTION pgkb.complete(job_ids bigint[], job_attempts integer[], owner text) RETURNS SETOF bigint
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
