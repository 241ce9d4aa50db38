/* The ingest worker's fold of source word counts: the deltas ingest results leave in pgkb.source_word_deltas
 * are added to archon_sources.total_word_count a moment after those results commit. */
#ifndef PGKB_INGEST_FOLD_H
#define PGKB_INGEST_FOLD_H

#include <ev.h>

#include "lib/cfg/cfg.h"

/* Opens the fold's own connection (one, outside the worker's pool, so a fold in flight never holds up the
 * worker's drain) and folds once soon, for deltas an earlier process left. Returns 0, or -1 after logging a
 * configuration error. */
int ingest_fold_start(struct ev_loop *loop, const struct cfg *cfg);
/* A result with a word-count delta has committed: fold within INGEST_FOLD_DELAY. Folds never overlap; one
 * asked for while another runs follows it. No-op before start and after stop. */
void ingest_fold_soon(void);
/* Closes the connection; deltas not folded yet stay for the next fold. */
void ingest_fold_stop(void);

/* Seconds from a committed result to the fold that adds it: folds per process are at most 1/INGEST_FOLD_DELAY
 * per second, each one UPDATE per source. */
#define INGEST_FOLD_DELAY 0.1

#endif
