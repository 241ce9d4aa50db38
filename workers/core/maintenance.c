/* The queue's housekeeping on a worker's maintenance tick: rescue, pruning, re-crawl schedule. */
#include "workers/core/maintenance.h"

#include <stdio.h>

#include "lib/pg/pgpool.h"
#include "lib/pg/queue.h"
#include "lib/util/log.h"

/* Conversation memory past its retention or expires_at (schema/092_memory.sql), deleted in batches like job
 * history: one statement a tick, at most 10,000 messages of expired sessions (then the emptied sessions). */
static const struct pg_stmt memory_expire = {
	"pgkb_memory_expire", "SELECT pgkb.memory_expire($1::bigint * interval '1 millisecond', 10000)", 1};

#define PRUNE_EVERY 60.0 /* seconds between prunings and re-crawl scheduling */

void maintenance_init(struct maintenance *m, struct pg_pool *pool, const struct cfg *cfg, void (*on_done)(void *arg),
                      void *arg)
{
	*m = (struct maintenance){.pool = pool, .cfg = cfg, .on_done = on_done, .arg = arg};
}

static void on_housekeeping_done(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	struct maintenance *m = arg;
	/* a failure is harmless (the next tick tries again) and usual while the database restarts: no noise */
	if (!out->ok) {
		log_debug("maintenance statement %s failed: %s", req->calls[0].stmt->name, out->error);
	} else if (req->calls[0].stmt == &queue_rescue && PQntuples(out->results[0]) > 0) {
		const PGresult *res = out->results[0];
		for (int i = 0; i < PQntuples(res); i++)
			log_warn("rescued job %s (%s) from an expired lease; now %s", pg_value(res, i, 0),
			         pg_value(res, i, 1), pg_value(res, i, 2));
	}
	m->on_done(m->arg);
}

static void submit(struct maintenance *m, const struct pg_stmt *stmt, const char *param)
{
	struct pg_req *req = pg_req_new(on_housekeeping_done, m);
	pg_req_add(req, stmt, &param);
	pool_submit(m->pool, req);
}

void maintenance_tick(struct maintenance *m, ev_tstamp now)
{
	submit(m, &queue_rescue, "100");
	if (now - m->last_prune <= PRUNE_EVERY)
		return;
	char ret[32];
	snprintf(ret, sizeof ret, "%lld", (long long)m->cfg->history_retention_ms);
	submit(m, &queue_prune_history, ret);
	snprintf(ret, sizeof ret, "%lld", (long long)m->cfg->gone_retention_ms);
	submit(m, &queue_prune_gone, ret);
	submit(m, &queue_schedule_recrawls, NULL);
	snprintf(ret, sizeof ret, "%lld", (long long)m->cfg->memory_retention_ms);
	submit(m, &memory_expire, ret);
	m->last_prune = now;
}
