/* The reembed job: embeds again, with this worker's model, the rows of one id range of chunks or code examples
 * that still carry another model's (or dimension's) vectors, and writes them in the job's fenced completion
 * (pgkb.reembed_store, schema/087). Also the embed worker's start-up check for such rows. */
#include "workers/embed/reembed.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/pg/pgpool.h"
#include "lib/pg/queue.h"
#include "lib/util/log.h"
#include "lib/util/mem.h"
#include "lib/util/payload.h"
#include "workers/embed/embed_job.h"
#include "workers/embed/embed_provider.h"

/* Rows one job loads at most: pgkb.reembed makes ranges of at most 1000 rows to re-embed, so only rows that
 * moved off target after the run was planned (an embed job of another model meanwhile) can exceed it; those
 * wait for the next run. */
#define REEMBED_MAX_ROWS "1000"

static const struct pg_stmt reembed_load = {
	"pgkb_reembed_load",
	"SELECT $1::text = 'code', c.id, c.text, c.content_hash"
	"  FROM pgkb.reembed_candidates($1, $2, $3, $4::int, $5::boolean, $6::bigint, $7::bigint) c"
	" LIMIT " REEMBED_MAX_ROWS,
	7,
};

static const struct pg_stmt reembed_store = {
	"pgkb_reembed_store",
	"SELECT pgkb.reembed_store($1, $2::bigint[], $3::text[], $4::real[], $5, $6::int, $7::boolean)",
	7,
};

static const struct pg_stmt reembed_check = {
	"pgkb_reembed_check",
	"SELECT off_target, reembed_id FROM pgkb.reembed_check($1, $2::int, $3::boolean)",
	3,
};

/* What one job re-embeds (its payload). */
struct reembed_range {
	long long reembed_id, from_id, to_id;
	char table[8]; /* pages | code */
	char *source_id; /* NULL: every source */
	char *model;
	int dimension;
	bool force;
};

/* Reads the payload pgkb.reembed makes; returns NULL, or a heap error message. */
static char *reembed_parse(const char *payload, struct reembed_range *g)
{
	char *err;
	json_t *root = payload_object("reembed", payload, &err);
	if (err)
		return err;
	json_t *id = json_object_get(root, "reembed_id"), *tbl = json_object_get(root, "table"),
	       *src = json_object_get(root, "source_id"), *model = json_object_get(root, "model"),
	       *dim = json_object_get(root, "dimension"), *force = json_object_get(root, "force"),
	       *from = json_object_get(root, "from_id"), *to = json_object_get(root, "to_id");
	const char *t = json_string_value(tbl);
	if (!json_is_integer(id) || !json_is_integer(from) || !json_is_integer(to) || !json_is_integer(dim) ||
	    !t || (strcmp(t, "pages") != 0 && strcmp(t, "code") != 0) || !json_is_string(model) ||
	    json_string_length(model) == 0 || json_string_length(model) > 200 ||
	    !(json_is_null(src) || src == NULL || json_is_string(src)) || !(force == NULL || json_is_boolean(force))) {
		err = xasprintf("reembed: the payload must be pgkb.reembed's: {\"reembed_id\", \"table\": \"pages\"|\"code\", "
		                "\"source_id\", \"model\", \"dimension\", \"force\", \"from_id\", \"to_id\"}");
	} else {
		g->reembed_id = (long long)json_integer_value(id);
		g->from_id = (long long)json_integer_value(from);
		g->to_id = (long long)json_integer_value(to);
		g->dimension = (int)json_integer_value(dim);
		snprintf(g->table, sizeof g->table, "%s", t);
		g->source_id = json_is_string(src) ? xstrdup(json_string_value(src)) : NULL;
		g->model = xstrdup(json_string_value(model));
		g->force = json_is_true(force);
	}
	json_decref(root);
	return err;
}

static void range_free(void *p)
{
	struct reembed_range *g = p;
	free(g->source_id);
	free(g->model);
	free(g);
}

static bool reembed_loaded(struct embed_job *j, const PGresult *res)
{
	(void)j;
	(void)res;
	return true; /* no row: the range is on target already (a retry, or a later run did it) */
}

static void reembed_complete(struct embed_job *j)
{
	const struct reembed_range *g = j->ctx;
	if (j->n == 0) {
		log_info("job %lld: re-embed %lld: %s %lld..%lld: nothing left to re-embed", j->job_id, g->reembed_id,
		         g->table, g->from_id, g->to_id);
		job_succeed(embed_job_end(j));
		return;
	}
	struct buf ids = BUF_INIT, hashes = BUF_INIT, vecs = BUF_INIT;
	for (size_t i = 0; i < j->n; i++) {
		pg_array_add_int(&ids, j->ids[i]);
		pg_array_add(&hashes, j->hashes[i]);
	}
	pg_array_close(&ids);
	pg_array_close(&hashes);
	if (embed_job_vectors(j, &vecs) != 0) {
		job_fail(embed_job_end(j), "reembed: a vector holds a non-finite number", false);
	} else {
		char dim[16];
		snprintf(dim, sizeof dim, "%d", g->dimension);
		struct pg_req *w = pg_req_new(NULL, NULL);
		/* asynchronous commit, as the embed job's: a lost commit loses the completion too, and the job runs
		 * again, re-embedding only what is still off target */
		pg_req_addl(w, &queue_async_commit);
		pg_req_addl(w, &reembed_store, g->table, buf_str(&ids), buf_str(&hashes), buf_str(&vecs), g->model, dim,
		            g->force ? "true" : "false");
		log_info("job %lld: re-embed %lld: %zu %s rows (%lld..%lld) embedded with %s (%d) in %.0f ms", j->job_id,
		         g->reembed_id, j->n, strcmp(g->table, "code") == 0 ? "code example" : "chunk", g->from_id,
		         g->to_id, g->model, g->dimension, embed_job_ms(j));
		job_succeed_with(embed_job_end(j), w);
	}
	buf_free(&ids);
	buf_free(&hashes);
	buf_free(&vecs);
}

static const struct embed_kind reembed_kind = {reembed_loaded, reembed_complete, range_free};

static void reembed_run(struct job_run *r)
{
	struct reembed_range *g = xcalloc(1, sizeof *g);
	char *err = reembed_parse(r->job.payload, g);
	if (err) {
		job_fail(r, err, true);
		free(err);
		free(g);
		return;
	}
	struct embed_engine *e = embed_worker_engine();
	if (strcmp(g->model, embed_engine_model(e)) != 0 || g->dimension != embed_engine_dimension(e)) {
		/* a worker of another configuration (a rolling restart): retried later, when a worker with the
		 * target model may claim it */
		char *msg = xasprintf("reembed: this worker embeds with %s (%d), the job wants %s (%d): run it with an embed "
		                      "worker configured for that model, or start a re-embed to the configured one "
		                      "(pgkb reembed)", embed_engine_model(e), embed_engine_dimension(e), g->model,
		                      g->dimension);
		job_fail(r, msg, false);
		free(msg);
		range_free(g);
		return;
	}
	char dim[16], from[24], to[24];
	snprintf(dim, sizeof dim, "%d", g->dimension);
	snprintf(from, sizeof from, "%lld", g->from_id);
	snprintf(to, sizeof to, "%lld", g->to_id);
	struct pg_req *load = pg_req_new(NULL, NULL);
	pg_req_addl(load, &reembed_load, g->table, g->source_id, g->model, dim, g->force ? "true" : "false", from, to);
	embed_job_start(r, &reembed_kind, g, load);
}

/* The start-up check's answer: logged once per worker process. */
static void on_checked(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	(void)req;
	bool auto_on = arg != NULL;
	if (!out->ok) {
		log_warn("embed: could not check for rows embedded with another model: %s", out->error);
		return;
	}
	const PGresult *res = out->results[0];
	const char *n = pg_value(res, 0, 0);
	if (strcmp(n, "0") == 0)
		return;
	struct embed_engine *e = embed_worker_engine();
	if (auto_on && !PQgetisnull(res, 0, 1))
		log_info("embed: %s rows or more carry another model's vectors than %s (%d): re-embed run %s is under way "
		         "(embed.reembed_on_change; progress in pgkb status)", n, embed_engine_model(e),
		         embed_engine_dimension(e), pg_value(res, 0, 1));
	else
		log_warn("embed: %s rows or more carry vectors of another model than %s (%d), which searches with this "
		         "model do not find; `pgkb reembed` re-embeds them (or set embed.reembed_on_change: true)", n,
		         embed_engine_model(e), embed_engine_dimension(e));
}

static int reembed_start(struct worker *w)
{
	struct embed_engine *e = embed_worker_engine();
	if (!e)
		return 0; /* the embed handler did not start; it said why */
	const struct cfg *cfg = worker_cfg(w);
	char dim[16];
	snprintf(dim, sizeof dim, "%d", embed_engine_dimension(e));
	/* arg non-NULL: the automatic re-embed is on */
	struct pg_req *req = pg_req_new(on_checked, cfg->embed_reembed_on_change ? (void *)cfg : NULL);
	pg_req_addl(req, &reembed_check, embed_engine_model(e), dim, cfg->embed_reembed_on_change ? "true" : "false");
	pool_submit(worker_pool(w), req);
	return 0;
}

const struct handler reembed_handler = {
	.kind = "reembed",
	.run = reembed_run,
	.abandon = embed_job_abandon,
	.start = reembed_start,
};
