/* The job queue's SQL: claim, complete (fenced), fail with backoff, renew, rescue and hand back leases; the
 * housekeeping every worker does (pruning, re-crawl schedule). */
#ifndef PGKB_QUEUE_H
#define PGKB_QUEUE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/pg/pgreq.h"

/* SQLSTATE raised by pgkb.complete_fenced() (queue_complete_fenced) when a job is no longer leased to the caller. */
#define QUEUE_SQLSTATE_FENCED "KB001"

/* One claimed job. */
struct job {
	long long id;
	char *kind;
	char *payload; /* JSON object text */
	int attempt;   /* this run's attempt number (1 = first); with the owner, the completion fence token */
	int max_attempts;
};

/* Payload bytes one claim takes at most (as stored: pg_column_size), unless its first job alone is larger
 * (a payload is at most 32 MiB, schema/081_queue_bounds.sql). Small payloads never reach it in a batch. */
#define QUEUE_CLAIM_PAYLOAD_BYTES (16LL << 20)

/* Claim: up to $2 ready jobs of kind $1 for owner $3 with a lease of $4 ms, while their payloads total at most
 * $5 bytes (always one). Rows: id, kind, payload, attempts, max_attempts, the number of rows locked.
 * Walks the partial index jobs_ready; SKIP LOCKED; never waits. */
extern const struct pg_stmt queue_claim;
/* Makes the current (implicit) transaction commit asynchronously: used for claims, whose loss in a crash
 * only means the job is claimed again. */
extern const struct pg_stmt queue_async_commit;
/* Complete: deletes the jobs in $1 (bigint[]) at attempts $2 (int[]) leased to $3 and moves them to
 * pgkb.job_history as succeeded. Rows: the ids completed (the others were no longer ours). */
extern const struct pg_stmt queue_complete;
/* The same as the fence of a result transaction, sent first: raises QUEUE_SQLSTATE_FENCED, naming them, unless
 * every job was still leased to $3 at its attempt, so a worker whose lease was taken over writes nothing. */
extern const struct pg_stmt queue_complete_fenced;
/* Fail one job ($1 id, $2 attempt, $3 owner, $4 error, $5 retry delay ms, $6 permanent bool): back to queued
 * at now + delay, or dead when permanent or out of attempts. Rows: the new state (none when fenced). */
extern const struct pg_stmt queue_fail;
/* Renew the leases of jobs $3 (bigint[]) held by owner $1 to now + $2 ms. Only jobs the worker knows it runs
 * are renewed, so a claim whose reply was lost expires and is rescued. */
extern const struct pg_stmt queue_renew;
/* Rescue up to $1 jobs whose lease expired; they are queued again (or dead when out of attempts) and their
 * kinds' workers are woken. Rows: id, kind, new state. */
extern const struct pg_stmt queue_rescue;
/* Hand back jobs $1 (bigint[]) at attempts $2 (int[]) leased to owner $3, reason $4, not counting the
 * interrupted attempt (used on drain). Rows: id. */
extern const struct pg_stmt queue_handback_jobs;
/* Hand back every job leased to owner $1 (a worker that died), reason $2; the attempt counts, so a job that
 * keeps killing workers ends dead. Rows: id, kind, new state. */
extern const struct pg_stmt queue_handback_owner;
/* Deletes up to 10000 history rows finished more than $1 ms ago. */
extern const struct pg_stmt queue_prune_history;
/* Deletes up to 1000 documents gone (no longer found by their crawl) more than $1 ms ago. */
extern const struct pg_stmt queue_prune_gone;
/* Queues the re-crawls that are due, up to 100 sources. */
extern const struct pg_stmt queue_schedule_recrawls;

/* Parses the rows of a queue_claim result into a new array of *n jobs (NULL when none). */
struct job *queue_parse_claim(const PGresult *res, int *n);
/* True when the claim was cut short by its payload budget: ready jobs were left that the count allowed. */
bool queue_claim_cut_short(const PGresult *res);
void job_clear(struct job *job);


#endif
