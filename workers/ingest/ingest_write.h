/* Ingest results to the database: one result transaction in flight per ingest process, the results that finish
 * meanwhile waiting and then going together. */
#ifndef PGKB_INGEST_WRITE_H
#define PGKB_INGEST_WRITE_H

#include <stdbool.h>

#include "lib/pg/pgreq.h"
#include "workers/core/worker.h"
#include "workers/ingest/ingest_job.h"

/* Result transactions in flight per ingest process. Converting a page takes far less CPU than writing it (its
 * rows' index entries, the trigram and tsvector GIN indexes above all), so without a bound a process had as many
 * write transactions running as its pool has connections, all extending the same relations: on a 2-core machine
 * that cost about a quarter more server CPU than the same writes one at a time per process. */
#define INGEST_WRITES_IN_FLIGHT 1

/* Ends job j with writes (job_succeed_with) now, or once the result transactions ahead of it have ended: until
 * then j waits (INGEST_WAITING) and its run stays running, so the worker claims no job in its place. Takes
 * ownership of writes, whose own callback must be NULL. fold: the writes may change a source's word count
 * (pgkb.source_word_deltas): fold it in once they commit. */
void ingest_write_submit(struct ingest_job *j, struct pg_req *writes, bool fold);
/* Takes a waiting job out of the queue (it was handed back); its writes go when it is freed. */
void ingest_write_cancel(struct ingest_job *j);

#endif
