/* The embed_messages job: load the given messages that still lack a vector, embed them one batch at a time
 * through the process's shared engine, store the vectors with the job's fenced completion. One batch in flight
 * per job keeps the state small; parallelism comes from the worker running several jobs at once (a bulk
 * INSERT makes one job per 250 messages). */
#include "workers/embed/embed_messages.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/embed/embed_wire.h"
#include "lib/embed/vecfmt.h"
#include "lib/pg/pgpool.h"
#include "lib/pg/queue.h"
#include "lib/text/utf8.h"
#include "lib/util/log.h"
#include "lib/util/mem.h"
#include "lib/util/payload.h"
#include "workers/embed/embed.h"
#include "workers/embed/embed_provider.h"

static const struct pg_stmt msg_load = {
	"pgkb_memory_embed_load",
	"SELECT id, content_md5, content FROM pgkb.memory_embed_load($1::bigint[])",
	1,
};
enum { LOAD_ID, LOAD_MD5, LOAD_CONTENT };

static const struct pg_stmt msg_store = {
	"pgkb_memory_embed_store",
	"SELECT pgkb.memory_embed_store($1::bigint[], $2::text[], $3::real[], $4, $5::int)",
	5,
};

struct msg_job {
	struct job_run *run; /* NULL once handed back (abandoned) */
	long long job_id;
	size_t n, done; /* rows loaded; rows embedded so far */
	long long *ids;
	char **md5s, **texts;
	size_t *lens;
	float *vectors; /* n * dim */
	struct embed_batch batch; /* the one in flight */
	bool in_flight;           /* a load or a batch will call back */
};

static void mjob_free(struct msg_job *j)
{
	for (size_t i = 0; i < j->n; i++) {
		free(j->md5s[i]);
		free(j->texts[i]);
	}
	free(j->ids);
	free(j->md5s);
	free(j->texts);
	free(j->lens);
	free(j->vectors);
	free(j);
}

/* Ends the job's run (the caller finishes it with the run returned); j is freed by the caller. */
static struct job_run *mjob_end(struct msg_job *j)
{
	struct job_run *r = j->run;
	r->state = NULL;
	j->run = NULL;
	return r;
}

static void mjob_store(struct msg_job *j)
{
	struct embed_engine *e = embed_shared_engine();
	int dim = embed_engine_dimension(e);
	struct buf ids = BUF_INIT, md5s = BUF_INIT, vecs = BUF_INIT;
	for (size_t i = 0; i < j->n; i++) {
		pg_array_add_int(&ids, j->ids[i]);
		pg_array_add(&md5s, j->md5s[i]);
	}
	pg_array_close(&ids);
	pg_array_close(&md5s);
	if (vecfmt_append(&vecs, j->vectors, j->n * (size_t)dim, VECFMT_ARRAY) != 0) {
		job_fail(mjob_end(j), "embed_messages: a vector holds a non-finite number", false);
	} else {
		char d[16];
		snprintf(d, sizeof d, "%d", dim);
		struct pg_req *w = pg_req_new(NULL, NULL);
		/* asynchronous commit, as embed jobs do: a lost commit goes with the completion, and the job reruns */
		pg_req_addl(w, &queue_async_commit);
		pg_req_addl(w, &msg_store, buf_str(&ids), buf_str(&md5s), buf_str(&vecs), embed_engine_model(e), d);
		log_debug("job %lld: %zu messages embedded", j->job_id, j->n);
		job_succeed_with(mjob_end(j), w);
	}
	buf_free(&ids);
	buf_free(&md5s);
	buf_free(&vecs);
}

static void mjob_next(struct msg_job *j);

static void on_batch(struct embed_batch *b, const struct embed_result *res, const struct embed_error *err)
{
	struct msg_job *j = b->arg;
	j->in_flight = false;
	if (!j->run) { /* handed back meanwhile */
		mjob_free(j);
		return;
	}
	if (err) {
		bool permanent = err->status == EMBED_ERR_QUOTA || err->status == EMBED_ERR_CLIENT ||
		                 err->status == EMBED_ERR_DIMENSION;
		char *msg = xasprintf("embed_messages (%s) %s", embed_status_name(err->status), err->message);
		job_fail(mjob_end(j), msg, permanent);
		free(msg);
		mjob_free(j);
		return;
	}
	memcpy(j->vectors + j->done * (size_t)res->dim, res->vectors, res->count * (size_t)res->dim * sizeof(float));
	j->done += res->count;
	mjob_next(j);
}

/* Submits the next batch (by the engine's count and token limits), or stores the vectors when all are done. */
static void mjob_next(struct msg_job *j)
{
	if (j->done == j->n) {
		mjob_store(j);
		mjob_free(j);
		return;
	}
	struct embed_engine *e = embed_shared_engine();
	size_t left = j->n - j->done;
	size_t *tokens = xmalloc(left * sizeof *tokens);
	for (size_t i = 0; i < left; i++)
		tokens[i] = embed_estimate_tokens(j->texts[j->done + i], j->lens[j->done + i]);
	size_t take = embed_batch_take(tokens, left, embed_engine_batch_count(e), embed_engine_batch_tokens(e));
	j->batch = (struct embed_batch){
		.texts = (const char *const *)j->texts + j->done,
		.lens = j->lens + j->done,
		.n = take,
		.done = on_batch,
		.arg = j,
	};
	for (size_t i = 0; i < take; i++)
		j->batch.tokens += (int64_t)tokens[i];
	free(tokens);
	j->in_flight = true;
	embed_engine_submit(e, &j->batch);
}

static void on_loaded(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	(void)req;
	struct msg_job *j = arg;
	j->in_flight = false;
	if (!j->run) {
		mjob_free(j);
		return;
	}
	if (!out->ok) {
		char *msg = xasprintf("embed_messages: loading the messages failed: %s", out->error);
		job_fail(mjob_end(j), msg, false);
		free(msg);
		mjob_free(j);
		return;
	}
	const PGresult *res = out->results[0];
	int rows = PQntuples(res);
	if (rows == 0) { /* embedded already, changed (another job has them) or deleted */
		job_succeed(mjob_end(j));
		mjob_free(j);
		return;
	}
	j->ids = xcalloc((size_t)rows, sizeof *j->ids);
	j->md5s = xcalloc((size_t)rows, sizeof *j->md5s);
	j->texts = xcalloc((size_t)rows, sizeof *j->texts);
	j->lens = xcalloc((size_t)rows, sizeof *j->lens);
	for (int i = 0; i < rows; i++) {
		size_t len = (size_t)PQgetlength(res, i, LOAD_CONTENT);
		if (len > EMBED_MESSAGES_MAX_BYTES)
			len = utf8_floor(PQgetvalue(res, i, LOAD_CONTENT), len, EMBED_MESSAGES_MAX_BYTES);
		j->ids[i] = pg_int(res, i, LOAD_ID);
		j->md5s[i] = xstrdup(pg_value(res, i, LOAD_MD5));
		j->texts[i] = xstrndup(PQgetvalue(res, i, LOAD_CONTENT), len);
		j->lens[i] = len;
		j->n++;
	}
	j->vectors = xmalloc(j->n * (size_t)embed_engine_dimension(embed_shared_engine()) * sizeof(float));
	mjob_next(j);
}

/* Reads {"message_ids": [N, …]} into the PostgreSQL array literal ids; returns NULL or a heap error. */
static char *msg_parse(const char *payload, struct buf *ids)
{
	char *err;
	json_t *root = payload_object("embed_messages", payload, &err);
	json_t *v = json_object_get(root, "message_ids");
	if (!err && !(json_is_array(v) && json_array_size(v) >= 1 && json_array_size(v) <= EMBED_MESSAGES_MAX_IDS))
		err = xasprintf("embed_messages: the payload must be {\"message_ids\": [N, …]} with 1 to %d ids",
		                EMBED_MESSAGES_MAX_IDS);
	size_t i;
	json_t *id;
	json_array_foreach(err ? NULL : v, i, id) {
		if (!json_is_integer(id) || json_integer_value(id) <= 0) {
			err = xasprintf("embed_messages: message_ids[%zu] is not a positive integer", i);
			break;
		}
		pg_array_add_int(ids, (long long)json_integer_value(id));
	}
	pg_array_close(ids);
	json_decref(root);
	return err;
}

static void msg_run(struct job_run *r)
{
	struct buf ids = BUF_INIT;
	char *err = msg_parse(r->job.payload, &ids);
	if (err) {
		job_fail(r, err, true);
		free(err);
		buf_free(&ids);
		return;
	}
	struct msg_job *j = xcalloc(1, sizeof *j);
	j->run = r;
	j->job_id = r->job.id;
	j->in_flight = true;
	r->state = j;
	struct pg_req *req = pg_req_new(on_loaded, j);
	pg_req_addl(req, &msg_load, buf_str(&ids));
	pool_submit(worker_pool(r->worker), req);
	buf_free(&ids);
}

/* Drain timeout: the load or the batch in flight calls back and frees the state; a queued batch is not sent. */
static void msg_abandon(struct job_run *r)
{
	struct msg_job *j = r->state;
	r->state = NULL;
	j->run = NULL;
	j->batch.cancelled = true;
	if (!j->in_flight)
		mjob_free(j);
}

const struct handler embed_messages_handler = {
	.kind = "embed_messages",
	.run = msg_run,
	.abandon = msg_abandon,
};
