/* The job queue's SQL: claim, complete (fenced), fail with backoff, renew, rescue and hand back leases; the
 * housekeeping every worker does (pruning, re-crawl schedule). */
#include "lib/pg/queue.h"

#include <stdlib.h>

#include "lib/util/mem.h"

/* "Job $id is leased to $owner", for lookups by id. By CHECK jobs_lease, a job with a lease owner and a lease end
 * is running; "state = 'running'" would say the same but would let the planner serve the lookup from the
 * partial index jobs_running, reading every running job (pgkb.complete in schema/001_queue.sql). */
#define LEASED_TO(owner) "lease_owner = " owner " AND lease_until IS NOT NULL"

/* The ready rows are locked first (up to $2), then taken in claim order while the running sum of their stored
 * payload sizes stays within $5 bytes, and always the first: a worker never holds more than about that much
 * payload from one claim, however large the batch. Rows locked but not taken stay queued (their lock ends with
 * the claim's transaction). The last column says how many rows were locked, so the worker knows a claim cut
 * short by the budget left jobs ready. */
const struct pg_stmt queue_claim = {
	"pgkb_claim",
	"WITH locked AS MATERIALIZED ("
	"  SELECT id, priority, run_at, pg_column_size(payload) AS size FROM pgkb.jobs"
	"   WHERE kind = $1 AND state = 'queued' AND run_at <= now()"
	"   ORDER BY priority, run_at, id"
	"   LIMIT $2::int FOR NO KEY UPDATE SKIP LOCKED),"
	" ready AS ("
	"  SELECT id FROM (SELECT id, row_number() OVER w AS n, sum(size) OVER w AS upto FROM locked"
	"                  WINDOW w AS (ORDER BY priority, run_at, id)) s"
	"   WHERE n = 1 OR upto <= $5::bigint) "
	"UPDATE pgkb.jobs j"
	"   SET state = 'running', attempts = j.attempts + 1, lease_owner = $3,"
	"       lease_until = clock_timestamp() + $4::bigint * interval '1 millisecond',"
	"       started_at = clock_timestamp()"
	"  FROM ready WHERE j.id = ready.id "
	"RETURNING j.id, j.kind, j.payload::text, j.attempts, j.max_attempts, (SELECT count(*) FROM locked)",
	5,
};

const struct pg_stmt queue_async_commit = {
	"pgkb_async_commit",
	"SELECT set_config('synchronous_commit', 'off', true)",
	0,
};

const struct pg_stmt queue_complete = {
	"pgkb_complete",
	"SELECT pgkb.complete($1::bigint[], $2::int[], $3)",
	3,
};

const struct pg_stmt queue_complete_fenced = {
	"pgkb_complete_fenced",
	"SELECT pgkb.complete_fenced($1::bigint[], $2::int[], $3)",
	3,
};

const struct pg_stmt queue_fail = {
	"pgkb_fail",
	"UPDATE pgkb.jobs SET"
	"  state = CASE WHEN $6::bool OR attempts >= max_attempts THEN 'dead' ELSE 'queued' END,"
	"  run_at = CASE WHEN $6::bool OR attempts >= max_attempts THEN run_at"
	"                ELSE clock_timestamp() + $5::bigint * interval '1 millisecond' END,"
	"  lease_owner = NULL, lease_until = NULL, last_error = $4 "
	"WHERE id = $1::bigint AND attempts = $2::int AND " LEASED_TO("$3") " "
	"RETURNING state",
	6,
};

const struct pg_stmt queue_renew = {
	"pgkb_renew",
	"UPDATE pgkb.jobs SET lease_until = clock_timestamp() + $2::bigint * interval '1 millisecond'"
	" WHERE id = ANY($3::bigint[]) AND " LEASED_TO("$1"),
	3,
};

const struct pg_stmt queue_rescue = {
	"pgkb_rescue",
	"WITH expired AS MATERIALIZED ("
	"  SELECT id FROM pgkb.jobs WHERE state = 'running' AND lease_until < clock_timestamp()"
	"   ORDER BY lease_until LIMIT $1::int FOR NO KEY UPDATE SKIP LOCKED),"
	" moved AS ("
	"  UPDATE pgkb.jobs j SET"
	"    state = CASE WHEN j.attempts >= j.max_attempts THEN 'dead' ELSE 'queued' END,"
	"    run_at = clock_timestamp(), lease_owner = NULL, lease_until = NULL,"
	"    last_error = 'lease expired while running on ' || j.lease_owner"
	"   FROM expired WHERE j.id = expired.id"
	"  RETURNING j.id, j.kind, j.state) "
	"SELECT id, kind, state, pg_notify('pgkb_jobs', kind) FROM moved",
	1,
};

const struct pg_stmt queue_handback_jobs = {
	"pgkb_handback_jobs",
	"UPDATE pgkb.jobs j SET state = 'queued', attempts = j.attempts - 1, run_at = clock_timestamp(),"
	"       lease_owner = NULL, lease_until = NULL, last_error = $4"
	" WHERE j.id = ANY($1::bigint[]) AND j." LEASED_TO("$3")
	"   AND j.attempts = ($2::int[])[array_position($1::bigint[], j.id)] "
	"RETURNING j.id, pg_notify('pgkb_jobs', j.kind)",
	4,
};

const struct pg_stmt queue_handback_owner = {
	"pgkb_handback_owner",
	"WITH moved AS ("
	"  UPDATE pgkb.jobs SET"
	"    state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,"
	"    run_at = clock_timestamp(), lease_owner = NULL, lease_until = NULL, last_error = $2"
	"   WHERE lease_owner = $1 AND state = 'running'"
	"  RETURNING id, kind, state) "
	"SELECT id, kind, state, pg_notify('pgkb_jobs', kind) FROM moved",
	2,
};

const struct pg_stmt queue_prune_history = {
	"pgkb_prune_history",
	"DELETE FROM pgkb.job_history WHERE ctid = ANY(ARRAY("
	"  SELECT ctid FROM pgkb.job_history"
	"   WHERE finished_at < clock_timestamp() - $1::bigint * interval '1 millisecond' LIMIT 10000))",
	1,
};

/* Both functions (schema/060_operations.sql) take an advisory lock with pg_try_advisory_xact_lock, so one
 * worker at a time does the work and the others return at once. */
const struct pg_stmt queue_prune_gone = {
	"pgkb_prune_gone",
	"SELECT pgkb.prune_gone_documents($1::bigint * interval '1 millisecond', 1000)",
	1,
};

const struct pg_stmt queue_schedule_recrawls = {"pgkb_schedule_recrawls", "SELECT pgkb.schedule_recrawls(100)", 0};

struct job *queue_parse_claim(const PGresult *res, int *n)
{
	*n = res ? PQntuples(res) : 0;
	if (*n == 0)
		return NULL;
	struct job *jobs = xcalloc((size_t)*n, sizeof *jobs);
	for (int i = 0; i < *n; i++) {
		jobs[i].id = pg_int(res, i, 0);
		jobs[i].kind = xstrdup(pg_value(res, i, 1));
		jobs[i].payload = xstrdup(pg_value(res, i, 2));
		jobs[i].attempt = (int)pg_int(res, i, 3);
		jobs[i].max_attempts = (int)pg_int(res, i, 4);
	}
	return jobs;
}

bool queue_claim_cut_short(const PGresult *res)
{
	int n = res ? PQntuples(res) : 0;
	return n > 0 && pg_int(res, 0, 5) > n;
}

void job_clear(struct job *job)
{
	free(job->kind);
	free(job->payload);
	job->kind = job->payload = NULL;
}

