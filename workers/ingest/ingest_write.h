/* Ingest results to the database: one result transaction in flight per ingest process, the results that finish
 * meanwhile waiting and then going together. */
#ifndef PGKB_INGEST_WRITE_H
#define PGKB_INGEST_WRITE_H

#include <stdbool.h>

#include "lib/pg/pgreq.h"
#include "workers/core/worker.h"

/* Result transactions in flight per ingest process. Converting a page takes far less CPU than writing it (its
 * rows' index entries, the trigram and tsvector GIN indexes above all), so without a bound a process had as many
 * write transactions running as its pool has connections, all extending the same relations: on a 2-core machine
 * that cost about a quarter more server CPU than the same writes one at a time per process. */
#define INGEST_WRITES_IN_FLIGHT 1

/* Ends job r with writes (job_succeed_with) now, or once the result transactions ahead of it have ended: until
 * then r stays running, so the worker claims no job in its place. Takes ownership of writes, whose own callback
 * must be NULL. fold: the writes may change a source's word count (pgkb.source_word_deltas): fold it in once
 * they commit. A job abandoned while it waits (drain timeout) is released here and its writes dropped. */
void ingest_write_submit(struct job_run *r, struct pg_req *writes, bool fold);

#endif
