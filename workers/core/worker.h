/* The common worker process: a libev loop that claims jobs, runs their handlers, completes them fenced and
 * in batches, renews leases, rescues expired ones and drains on SIGTERM. */
#ifndef PGKB_WORKER_H
#define PGKB_WORKER_H

#include <ev.h>
#include <stdbool.h>

#include "lib/cfg/cfg.h"
#include "lib/pg/pgreq.h"
#include "lib/pg/queue.h"

struct worker;
struct pg_pool;

/* One job being run by a handler. */
struct job_run {
	struct job job;
	struct worker *worker;
	const struct handler *handler;
	void *state; /* the handler's own */
	struct job_run *prev, *next;
	bool finished;  /* succeed/fail was called */
	double started; /* ev_time() when the job started (the duration metric) */
};

/* A job kind's implementation. run() starts the job and must end it, now or later from the loop, with
 * exactly one call of job_succeed, job_succeed_with or job_fail. abandon() (required) hands back a job that
 * has not ended (drain timeout): it must not finish the job, and the worker frees the run when it returns, so
 * the handler forgets the run there. What can be cancelled (timers, HTTP waits) it cancels and frees now; a
 * database request cannot be, so state that such a request's callback will receive is marked abandoned and
 * freed by that callback. */
struct handler {
	const char *kind;
	void (*run)(struct job_run *run);
	void (*abandon)(struct job_run *run);
	/* Optional, once per worker process: start() before the first job (return -1 for a fatal
	 * configuration error: the worker exits with code 2); stop() after the loop ends, to free what start()
	 * made. A handler keeps its per-process state in its own file (a worker process runs one loop). */
	int (*start)(struct worker *w);
	void (*stop)(struct worker *w);
	/* Optional: called when the worker starts draining (stop starting new network work). */
	void (*drain)(struct worker *w);
};

struct worker_opts {
	const struct cfg *cfg;
	enum cfg_worker_kind kind;
	const char *worker_id; /* lease owner, unique across hosts; the supervisor hands its leases back */
	int parent_fd;         /* read end of the parent-death pipe, or -1 */
};

/* Runs a worker until it is drained (SIGTERM/SIGINT, or the parent died). Returns the process exit code:
 * 0 after a clean drain, 2 for a fatal configuration error. */
int worker_main(const struct worker_opts *opts);

/* Finishing a job. job_succeed: no result rows; the completion joins the next batch.
 * job_succeed_with: the statements in writes (the job's results) commit in one transaction with the
 * completion, only while the job is still leased to this worker; takes ownership of writes. writes' callback,
 * when it has one, runs once when that transaction has ended, committed or not, with the outcome of the
 * writes alone (results[i] belongs to writes' statement i); a job's end does not wait for it. Results of
 * jobs that finish in one loop iteration commit in one transaction (group commit); when that fails, each is
 * sent again alone. A write list that turns synchronous_commit off makes its whole group commit
 * asynchronously, which is safe: a commit lost in a crash loses the completions with it, and the jobs run
 * again. job_fail: retried with backoff, or dead when permanent or out of attempts; error is copied
 * (and made valid UTF-8). */
void job_succeed(struct job_run *run);
void job_succeed_with(struct job_run *run, struct pg_req *writes);
void job_fail(struct job_run *run, const char *error, bool permanent);

struct ev_loop *worker_loop(const struct worker *w);
const struct cfg *worker_cfg(const struct worker *w);
const char *worker_id(const struct worker *w);
struct pg_pool *worker_pool(const struct worker *w);
bool worker_draining(const struct worker *w);

#endif
