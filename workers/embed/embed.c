/* The embed job: load a document's unembedded rows, embed them in batches through the process's engine, and
 * store the vectors with the job's fenced completion. The batching part is shared with the reembed job
 * (embed_job.h). */
#include "workers/embed/embed.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "workers/core/job_stage.h"
#include "workers/embed/embed_job.h"
#include "workers/embed/embed_provider.h"
#include "lib/embed/embed_wire.h"
#include "lib/http/http.h"
#include "lib/util/log.h"
#include "lib/util/mem.h"
#include "lib/util/payload.h"
#include "lib/pg/pgpool.h"
#include "lib/pg/queue.h"
#include "lib/embed/vecfmt.h"

/* The process's engine: one per worker process (start/stop). */
static struct embed_engine *embed_engine;

struct embed_engine *embed_worker_engine(void)
{
	return embed_engine;
}

/* Rows to embed: (is_code, id, text, hash) ordered pages first; no row when the document does not exist, one
 * row with NULL id when it has nothing left to embed. */
static const struct pg_stmt embed_load = {
	"pgkb_embed_load",
	"SELECT x.is_code, x.id, x.text, NULL::text FROM pgkb.documents d"
	" LEFT JOIN LATERAL ("
	"   SELECT false AS is_code, p.id, p.content AS text FROM public.archon_crawled_pages p"
	"    WHERE p.url = d.url AND p.embedding_dimension IS NULL"
	"   UNION ALL"
	"   SELECT true, c.id, concat_ws(E'\\n\\n', c.content, nullif(c.summary, '')) FROM public.archon_code_examples c"
	"    WHERE c.url = d.url AND c.embedding_dimension IS NULL"
	" ) x ON true WHERE d.id = $1::bigint ORDER BY x.is_code, x.id",
	1,
};

/* The completion's write: vectors (flat real[], pages then code examples), model, dimension; marks ready. */
static const struct pg_stmt embed_store = {
	"pgkb_embed_store",
	"SELECT pgkb.embed_store($1::bigint, $2::bigint[], $3::bigint[], $4::real[], $5, $6::int)",
	6,
};

/* Where a job is. Its state outlives the job while batches are on the wire (outstanding). */
enum embed_stage {
	EMBED_LOADING,   /* its rows being loaded */
	EMBED_EMBEDDING, /* its batches with the engine */
	EMBED_DONE,      /* ended; freed once no batch of it is outstanding */
	EMBED_ABANDONED, /* handed back; freed by its load's callback, or once no batch of it is outstanding */
	EMBED_STAGES
};

struct embed_engine *embed_shared_engine(void)
{
	return embed_engine;
}

static const char *const embed_stage_names[EMBED_STAGES] = {"loading", "embedding", "done", "abandoned"};
static const unsigned embed_next[EMBED_STAGES] = {
	[EMBED_LOADING] = STAGE_BIT(EMBED_EMBEDDING) | STAGE_BIT(EMBED_DONE) | STAGE_BIT(EMBED_ABANDONED),
	[EMBED_EMBEDDING] = STAGE_BIT(EMBED_DONE) | STAGE_BIT(EMBED_ABANDONED),
};
static const struct job_stages embed_stages = {"embed", EMBED_STAGES, embed_stage_names, embed_next};

static void ejob_free(struct embed_job *j)
{
	for (size_t i = 0; i < j->n; i++) {
		free(j->texts[i]);
		free(j->hashes[i]);
	}
	free(j->texts);
	free(j->hashes);
	free(j->lens);
	free(j->ids);
	free(j->vectors);
	free(j->batches);
	free(j->starts);
	if (j->kind->free_ctx)
		j->kind->free_ctx(j->ctx);
	else
		free(j->ctx);
	free(j);
}

static void ejob_stage(struct embed_job *j, enum embed_stage to)
{
	job_stage_check(&embed_stages, j->job_id, j->stage, (int)to);
	j->stage = (int)to;
}

struct job_run *embed_job_end(struct embed_job *j)
{
	struct job_run *r = j->run;
	ejob_stage(j, EMBED_DONE);
	r->state = NULL;
	j->run = NULL;
	return r;
}

/* Frees j once it has ended and no batch of it is outstanding (its load has called back: see embed_job_abandon). */
static void ejob_release(struct embed_job *j)
{
	if ((j->stage == EMBED_DONE || j->stage == EMBED_ABANDONED) && j->outstanding == 0)
		ejob_free(j);
}

double embed_job_ms(const struct embed_job *j)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - j->t0.tv_sec) * 1e3 + (t.tv_nsec - j->t0.tv_nsec) / 1e6;
}

int embed_job_vectors(const struct embed_job *j, struct buf *out)
{
	return vecfmt_append(out, j->vectors, j->n * (size_t)embed_engine_dimension(embed_engine), VECFMT_ARRAY);
}

static bool status_permanent(enum embed_status s)
{
	return s == EMBED_ERR_QUOTA || s == EMBED_ERR_CLIENT || s == EMBED_ERR_DIMENSION;
}

/* One batch failed: the job fails (the rest of its batches are cancelled). */
static void ejob_batch_failed(struct embed_job *j, const struct embed_batch *b, const struct embed_error *err)
{
	for (size_t i = 0; i < j->nbatches; i++)
		j->batches[i].cancelled = true;
	bool permanent = status_permanent(err->status);
	char *msg = xasprintf("embed (%s) %s%s", embed_status_name(err->status), err->message,
	                      embed_status_retryable(err->status) && b->attempts > 1 ? " (in-job attempts exhausted)" : "");
	job_fail(embed_job_end(j), msg, permanent);
	free(msg);
}

static void on_batch(struct embed_batch *b, const struct embed_result *res, const struct embed_error *err)
{
	struct embed_job *j = b->arg;
	j->outstanding--;
	if (j->stage == EMBED_EMBEDDING && err) {
		ejob_batch_failed(j, b, err);
	} else if (j->stage == EMBED_EMBEDDING) {
		size_t k = (size_t)(b - j->batches);
		memcpy(j->vectors + j->starts[k] * (size_t)res->dim, res->vectors, res->count * (size_t)res->dim * sizeof(float));
		if (j->outstanding == 0)
			j->kind->complete(j);
	}
	ejob_release(j);
}

/* Splits the rows into batches by count and estimated tokens and hands them to the engine. */
static void ejob_submit(struct embed_job *j)
{
	size_t *tokens = xmalloc(j->n * sizeof *tokens);
	for (size_t i = 0; i < j->n; i++)
		tokens[i] = embed_estimate_tokens(j->texts[i], j->lens[i]);
	j->batches = xcalloc(j->n, sizeof *j->batches);
	j->starts = xcalloc(j->n, sizeof *j->starts);
	size_t max_count = embed_engine_batch_count(embed_engine), max_tokens = embed_engine_batch_tokens(embed_engine);
	for (size_t off = 0; off < j->n;) {
		size_t take = embed_batch_take(tokens + off, j->n - off, max_count, max_tokens);
		struct embed_batch *b = &j->batches[j->nbatches];
		j->starts[j->nbatches++] = off;
		b->texts = (const char *const *)j->texts + off;
		b->lens = j->lens + off;
		b->n = take;
		for (size_t i = off; i < off + take; i++)
			b->tokens += (int64_t)tokens[i];
		b->done = on_batch;
		b->arg = j;
		off += take;
	}
	free(tokens);
	j->vectors = xmalloc(j->n * (size_t)embed_engine_dimension(embed_engine) * sizeof(float));
	j->outstanding = j->nbatches;
	ejob_stage(j, EMBED_EMBEDDING);
	for (size_t i = 0; i < j->nbatches; i++)
		embed_engine_submit(embed_engine, &j->batches[i]);
}

/* Copies the rows to embed out of the load result. */
static void ejob_take_rows(struct embed_job *j, const PGresult *res)
{
	int rows = PQntuples(res);
	j->ids = xcalloc((size_t)rows, sizeof *j->ids);
	j->texts = xcalloc((size_t)rows, sizeof *j->texts);
	j->hashes = xcalloc((size_t)rows, sizeof *j->hashes);
	j->lens = xcalloc((size_t)rows, sizeof *j->lens);
	for (int i = 0; i < rows; i++) {
		if (PQgetisnull(res, i, LOAD_ID))
			continue;
		j->ids[j->n] = pg_int(res, i, LOAD_ID);
		j->lens[j->n] = (size_t)PQgetlength(res, i, LOAD_TEXT);
		j->texts[j->n] = xstrndup(PQgetvalue(res, i, LOAD_TEXT), j->lens[j->n]);
		if (!PQgetisnull(res, i, LOAD_HASH))
			j->hashes[j->n] = xstrdup(PQgetvalue(res, i, LOAD_HASH));
		if (strcmp(pg_value(res, i, LOAD_IS_CODE), "f") == 0)
			j->npages++;
		j->n++;
	}
}

static void on_loaded(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	struct embed_job *j = arg;
	if (j->stage == EMBED_ABANDONED) {
		ejob_release(j);
		return;
	}
	if (!out->ok) {
		char *msg = xasprintf("%s: loading its rows failed: %s", j->run->job.kind, out->error);
		job_fail(embed_job_end(j), msg, false);
		free(msg);
	} else if (j->kind->loaded(j, out->results[0])) {
		ejob_take_rows(j, out->results[0]);
		if (j->n == 0)
			j->kind->complete(j); /* nothing to embed: the kind's write alone */
		else
			ejob_submit(j);
	}
	ejob_release(j);
}

void embed_job_start(struct job_run *r, const struct embed_kind *k, void *ctx, struct pg_req *load)
{
	struct embed_job *j = xcalloc(1, sizeof *j);
	j->run = r;
	j->job_id = r->job.id;
	j->stage = EMBED_LOADING;
	j->kind = k;
	j->ctx = ctx;
	clock_gettime(CLOCK_MONOTONIC, &j->t0);
	r->state = j;
	load->cb = on_loaded; /* the kind made the request; the rows come back here */
	load->arg = j;
	pool_submit(worker_pool(r->worker), load);
}

/* The embed job's own part: one document. */
struct embed_doc {
	long long document_id;
};

/* Sends the vectors with the completion, which marks the document ready. */
static void edoc_complete(struct embed_job *j)
{
	const struct embed_doc *d = j->ctx;
	struct buf pages = BUF_INIT, codes = BUF_INIT, vecs = BUF_INIT;
	for (size_t i = 0; i < j->n; i++)
		pg_array_add_int(i < j->npages ? &pages : &codes, j->ids[i]);
	pg_array_close(&pages);
	pg_array_close(&codes);
	if (embed_job_vectors(j, &vecs) != 0) {
		job_fail(embed_job_end(j), "embed: a vector holds a non-finite number", false);
	} else {
		char doc[32], dim[16];
		snprintf(doc, sizeof doc, "%lld", d->document_id);
		snprintf(dim, sizeof dim, "%d", embed_engine_dimension(embed_engine));
		struct pg_req *w = pg_req_new(NULL, NULL);
		/* Commits asynchronously, as ingest and fetch results do: a commit lost in a server crash goes with the
		 * job's completion, so the job runs again and stores the same vectors. */
		pg_req_addl(w, &queue_async_commit);
		pg_req_addl(w, &embed_store, doc, buf_str(&pages), buf_str(&codes), buf_str(&vecs),
		            embed_engine_model(embed_engine), dim);
		log_info("job %lld: document %lld: %zu chunks and %zu code examples embedded in %.0f ms", j->job_id,
		         d->document_id, j->npages, j->n - j->npages, embed_job_ms(j));
		job_succeed_with(embed_job_end(j), w);
	}
	buf_free(&pages);
	buf_free(&codes);
	buf_free(&vecs);
}

static bool edoc_loaded(struct embed_job *j, const PGresult *res)
{
	if (PQntuples(res) > 0)
		return true;
	const struct embed_doc *d = j->ctx;
	log_info("job %lld: document %lld no longer exists; nothing to embed", j->job_id, d->document_id);
	job_succeed(embed_job_end(j));
	return false;
}

static const struct embed_kind embed_doc_kind = {edoc_loaded, edoc_complete, NULL};

/* Reads {"document_id": N}; returns NULL, or a heap error message. */
static char *embed_parse(const char *payload, long long *id)
{
	char *err;
	json_t *root = payload_object("embed", payload, &err);
	json_t *v = json_object_get(root, "document_id");
	if (!err && !(json_is_integer(v) && json_integer_value(v) > 0))
		err = xasprintf("embed: the payload must be {\"document_id\": N} with a positive integer N");
	if (!err)
		*id = (long long)json_integer_value(v);
	json_decref(root);
	return err;
}

static void embed_run(struct job_run *r)
{
	long long id = 0;
	char *err = embed_parse(r->job.payload, &id);
	if (err) {
		job_fail(r, err, true);
		free(err);
		return;
	}
	struct embed_doc *d = xcalloc(1, sizeof *d);
	d->document_id = id;
	char sid[32];
	snprintf(sid, sizeof sid, "%lld", id);
	struct pg_req *load = pg_req_new(NULL, NULL);
	pg_req_addl(load, &embed_load, sid);
	embed_job_start(r, &embed_doc_kind, d, load);
}

/* Drain timeout: the job is handed back; its batches still queued are cancelled, those on the wire finish
 * and are ignored, and the state is freed once none is left. */
void embed_job_abandon(struct job_run *r)
{
	struct embed_job *j = r->state;
	r->state = NULL;
	j->run = NULL; /* the worker frees r after this call */
	bool loading = j->stage == EMBED_LOADING;
	ejob_stage(j, EMBED_ABANDONED);
	if (loading)
		return; /* on_loaded frees it */
	for (size_t i = 0; i < j->nbatches; i++)
		j->batches[i].cancelled = true;
	ejob_release(j);
}

static int embed_start(struct worker *w)
{
	if (http_global_init() != 0)
		return -1;
	char *err = NULL;
	embed_engine = embed_engine_new(worker_loop(w), worker_cfg(w), &err);
	if (!embed_engine) {
		log_error("%s", err);
		free(err);
		return -1;
	}
	return 0;
}

static void embed_stop(struct worker *w)
{
	embed_engine_free(embed_engine);
	embed_engine = NULL;
	http_global_cleanup();
}

const struct handler embed_handler = {
	.kind = "embed",
	.run = embed_run,
	.abandon = embed_job_abandon,
	.start = embed_start,
	.stop = embed_stop,
};
