/* An ingest job's state: its stage, and its result while that waits for a write slot (ingest_write.c). */
#ifndef PGKB_INGEST_JOB_H
#define PGKB_INGEST_JOB_H

#include <stdbool.h>

#include "lib/pg/pgreq.h"
#include "workers/core/worker.h"

/* Where an ingest job is. Converting is synchronous; the job waits only for its input's read (the database, or
 * the file thread), a document's contained extraction (lib/doc/docconv.h), a directory's enqueue batches, and
 * its turn to write. */
enum ingest_stage {
	INGEST_PARSED,     /* payload read */
	INGEST_READING,    /* the stored page ({"document_id"}) or the file or directory ({"path"}) being read */
	INGEST_ENQUEUING,  /* {"path": DIR}: its files' jobs being enqueued, one batch transaction at a time */
	INGEST_EXTRACTING, /* a PDF or office document: its text being extracted by the converter child */
	INGEST_CONVERTING, /* the input is converted into its result */
	INGEST_WAITING,    /* its result queued behind the result transactions in flight */
	INGEST_DONE,       /* ended: its result commits with the completion */
	INGEST_ABANDONED,  /* handed back while reading or enqueuing; the callback it waits for frees it */
	INGEST_STAGES
};

struct ingest_job {
	struct job_run *run; /* while the job runs (every stage but done and abandoned) */
	long long job_id;    /* for the log, also after the run is gone */
	enum ingest_stage stage; /* changed only by ingest_stage */
	/* INGEST_WAITING: the result and its place in the queue */
	struct pg_req *writes;
	bool fold;
	struct ingest_job *next;
	/* INGEST_EXTRACTING: the conversion in flight (ingest.c), cancelled when the job is handed back */
	struct ingest_extract *extract;
};

struct ingest_job *ingest_job_new(struct job_run *run);
/* The one stage setter of ingest jobs. */
void ingest_stage(struct ingest_job *j, enum ingest_stage to);
/* Moves j to done, frees it and returns its run, for the job_succeed/job_fail call that ends the job. */
struct job_run *ingest_end(struct ingest_job *j);
/* Moves j to abandoned and frees it (what it waited on is cancelled or will not call back). */
void ingest_job_drop(struct ingest_job *j);

#endif
