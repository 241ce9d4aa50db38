/* What the crawl and fetch jobs share: their stage bookkeeping, their end, and one way of handing them back. */
#ifndef PGKB_CRAWL_JOB_H
#define PGKB_CRAWL_JOB_H

#include "workers/core/job_stage.h"
#include "workers/core/worker.h"
#include "workers/crawl/fetch_politeness.h"

/* What a stage waits on, which decides what handing the job back does: a robots.txt wait or a polite GET is
 * cancelled and the state freed at once; a database request cannot be, so its callback frees the state. */
enum crawl_wait { CRAWL_WAIT_NONE, CRAWL_WAIT_DB, CRAWL_WAIT_ROBOTS, CRAWL_WAIT_HTTP };

struct crawl_job;

/* A job kind's stage machine and what each stage waits on. */
struct crawl_job_kind {
	struct job_stages stages;
	const enum crawl_wait *waits; /* per stage */
	int done;                     /* the stage of a job that ended (succeeded or failed) */
	int abandoned;                /* the stage of a job handed back, until its request in flight returns */
	void (*free)(struct crawl_job *j); /* frees the whole state j heads */
};

/* The first member of struct crawl and struct fetch. */
struct crawl_job {
	const struct crawl_job_kind *kind;
	struct job_run *run; /* while the job runs (valid in every stage but done and abandoned) */
	long long job_id;    /* for the log, also after the run is gone */
	int stage;           /* one of kind's stages; changed only by crawl_job_stage */
	/* resources of the stage that waits on them, for cancelling */
	struct polite_req *preq;
	struct robots_wait *rwait;
};

void crawl_job_init(struct crawl_job *j, const struct crawl_job_kind *kind, struct job_run *run);
/* The one stage setter of crawl and fetch jobs. */
void crawl_job_stage(struct crawl_job *j, int to);
/* Moves j to done, frees it and returns its run, for the job_succeed/job_fail call that ends the job. */
struct job_run *crawl_job_end(struct crawl_job *j);
/* The abandon() hook of both handlers. */
void crawl_job_abandon(struct job_run *r);
/* For database callbacks: true when j was handed back while the request was in flight; j is then freed and
 * must not be touched again. */
bool crawl_job_gone(struct crawl_job *j);

#endif
