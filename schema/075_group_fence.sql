-- One fence for a group commit (workers/worker.c): the fenced results of the jobs that finish in one loop
-- iteration commit in one transaction, which now opens with one statement for all of them instead of one
-- pgkb.fence call per job. Raises KB001 unless every job is still leased to the caller for its attempt, naming
-- the jobs that are not (the worker then sends each result again alone, so only those are refused).
CREATE FUNCTION pgkb.fence_all(job_ids bigint[], owner text, job_attempts integer[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	held bigint[];
	lost text;
BEGIN
	-- locked in id order, so two fences over the same jobs wait instead of deadlocking
	SELECT array_agg(q.id) INTO held FROM (
		SELECT j.id FROM pgkb.jobs j
		  JOIN unnest(job_ids, job_attempts) AS f(id, attempt) ON j.id = f.id AND j.attempts = f.attempt
		 WHERE j.state = 'running' AND j.lease_owner = owner
		 ORDER BY j.id
		   FOR NO KEY UPDATE OF j) q;
	IF coalesce(cardinality(held), 0) < cardinality(job_ids) THEN
		SELECT CASE WHEN count(*) = 1 THEN 'job ' ELSE 'jobs ' END || string_agg(f.id::text, ', ' ORDER BY f.ord)
		       || CASE WHEN count(*) = 1 THEN ' is' ELSE ' are' END INTO lost
		  FROM unnest(job_ids) WITH ORDINALITY AS f(id, ord)
		 WHERE f.id <> ALL (coalesce(held, '{}'));
		RAISE EXCEPTION 'pgkb: % no longer leased to %', lost, owner
			USING ERRCODE = 'KB001';
	END IF;
END;
$$;
