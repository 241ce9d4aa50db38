/* A job that embeds a set of rows through the embed worker's engine: shared by the embed job (a document's new
 * rows, embed.c) and the reembed job (a range of rows on another model, reembed.c). The kind loads the rows,
 * this part batches them through the engine and hands the vectors back to the kind, which writes them with the
 * job's completion. Used only inside workers/embed. */
#ifndef PGKB_EMBED_JOB_H_INTERNAL
#define PGKB_EMBED_JOB_H_INTERNAL

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "lib/pg/pgreq.h"
#include "lib/util/buf.h"
#include "workers/core/worker.h"

struct embed_engine;
struct embed_job;

/* The column order of a kind's load statement: is_code (boolean), id, text, content_hash (may be NULL). A row
 * with a NULL id is skipped (a kind may return one to say that its subject exists but has nothing to embed). */
enum { LOAD_IS_CODE, LOAD_ID, LOAD_TEXT, LOAD_HASH };

struct embed_kind {
	/* Called with the load's result (ok): returns false after ending the job itself (embed_job_end), true to
	 * embed the result's rows. */
	bool (*loaded)(struct embed_job *j, const PGresult *res);
	/* Called once every row has its vector (also with no rows): ends the job with embed_job_end, normally
	 * with job_succeed_with and the write of the vectors. */
	void (*complete)(struct embed_job *j);
	/* Frees the kind's ctx (NULL: free()). */
	void (*free_ctx)(void *ctx);
};

struct embed_job {
	struct job_run *run; /* while the job runs (loading, embedding) */
	long long job_id;    /* for the log, also after the run is gone */
	int stage;           /* enum embed_stage in embed.c */
	const struct embed_kind *kind;
	void *ctx; /* the kind's, freed by kind->free_ctx */
	size_t n, npages; /* rows: npages chunks, then code examples */
	long long *ids;
	char **texts;
	char **hashes; /* content_hash of each row as loaded (NULL where NULL) */
	size_t *lens;
	float *vectors; /* n * dim */
	struct embed_batch *batches;
	size_t *starts; /* first row of each batch */
	size_t nbatches, outstanding;
	struct timespec t0;
};

/* The worker process's engine (made by the embed handler's start). */
struct embed_engine *embed_worker_engine(void);
/* Starts job run r of kind k: sends load (a request with the one load statement) and takes ownership of ctx. */
void embed_job_start(struct job_run *r, const struct embed_kind *k, void *ctx, struct pg_req *load);
/* Ends j's run and returns it, for the caller to finish with job_succeed(_with) or job_fail. */
struct job_run *embed_job_end(struct embed_job *j);
/* The abandon hook of every kind that runs through embed_job_start. */
void embed_job_abandon(struct job_run *r);
/* Milliseconds since the job started. */
double embed_job_ms(const struct embed_job *j);
/* The rows' vectors as a flat real[] literal in out (empty on success); -1 for a non-finite number. */
int embed_job_vectors(const struct embed_job *j, struct buf *out);

#endif
