/* Folds the source word-count deltas of ingest results into archon_sources (pgkb.fold_source_word_counts), a
 * moment after they commit, on a connection of the ingest worker's own. */
#include "workers/ingest/ingest_fold.h"

#include <stdbool.h>
#include <stdlib.h>

#include "lib/util/log.h"
#include "lib/pg/pgconninfo.h"
#include "lib/pg/pgpool.h"

static const struct pg_stmt fold_stmt = {
	"pgkb_fold_source_word_counts",
	"SELECT pgkb.fold_source_word_counts()",
	0,
};

static struct {
	struct ev_loop *loop;
	struct pg_conninfo ci;
	struct pg_pool *pool; /* NULL before start and after stop */
	ev_timer timer;
	bool in_flight; /* a fold request is queued or running */
	bool again;     /* another fold is wanted once it ends */
} fold;

static void fold_arm(void)
{
	if (!ev_is_active(&fold.timer)) {
		ev_timer_set(&fold.timer, INGEST_FOLD_DELAY, 0.);
		ev_timer_start(fold.loop, &fold.timer);
	}
}

static void on_folded(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	fold.in_flight = false;
	if (!fold.pool)
		return; /* stopping */
	if (!out->ok) {
		/* The deltas stay; the next committed result asks again. */
		log_warn("folding source word counts failed: %s", out->error);
	} else if (pg_int(out->results[0], 0, 0) < 0) {
		fold.again = true; /* another process was folding: it may have missed our deltas */
	}
	if (fold.again)
		fold_arm();
}

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	if (!fold.pool)
		return;
	if (fold.in_flight) {
		fold.again = true;
		return;
	}
	fold.again = false;
	fold.in_flight = true;
	struct pg_req *req = pg_req_new(on_folded, NULL);
	pg_req_addl(req, &fold_stmt);
	pool_submit(fold.pool, req);
}

int ingest_fold_start(struct ev_loop *loop, const struct cfg *cfg)
{
	char *err = NULL;
	if (pg_conninfo_init(&fold.ci, cfg->database_url, cfg->database_url_from_env, "pgkb-ingest-fold",
	                     (long)cfg->connect_timeout_ms, &err) != 0) {
		log_error("%s", err);
		free(err);
		return -1;
	}
	fold.loop = loop;
	/* a lost fold commit leaves its deltas in place: nothing to wait for */
	struct pg_pool_opts po = {.size = 1, .setup_sql = "SET synchronous_commit = off"};
	fold.pool = pool_new(loop, &fold.ci, &po);
	ev_timer_init(&fold.timer, on_timer, 0., 0.);
	fold_arm();
	return 0;
}

void ingest_fold_soon(void)
{
	if (!fold.pool)
		return;
	if (fold.in_flight)
		fold.again = true;
	else
		fold_arm();
}

void ingest_fold_stop(void)
{
	if (!fold.pool)
		return;
	ev_timer_stop(fold.loop, &fold.timer);
	struct pg_pool *p = fold.pool;
	fold.pool = NULL;
	pool_free(p); /* a fold in flight ends with an unknown outcome: on_folded ignores it */
	pg_conninfo_free(&fold.ci);
	fold.in_flight = fold.again = false;
}
