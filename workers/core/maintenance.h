/* The queue's housekeeping, which every worker does on its maintenance tick: rescuing jobs whose lease expired
 * (their worker died or hung), and every minute pruning old job history and long-gone documents and queueing the
 * re-crawls that are due. The database lets one worker at a time do each; the others' calls return at once. */
#ifndef PGKB_MAINTENANCE_H
#define PGKB_MAINTENANCE_H

#include <ev.h>

#include "lib/cfg/cfg.h"

struct pg_pool;

struct maintenance {
	struct pg_pool *pool;
	const struct cfg *cfg;
	ev_tstamp last_prune;
	/* A housekeeping request ended (a draining worker waits for its pool to empty). */
	void (*on_done)(void *arg);
	void *arg;
};

void maintenance_init(struct maintenance *m, struct pg_pool *pool, const struct cfg *cfg, void (*on_done)(void *arg),
                      void *arg);
/* Sends the housekeeping due at loop time now. */
void maintenance_tick(struct maintenance *m, ev_tstamp now);

#endif
