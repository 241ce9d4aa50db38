/* The ingest job: a stored page ({"document_id"}), files or a directory under the ingest roots ({"path"}),
 * or inline text ({"content", "url"}) becomes page metadata, chunks and code examples, written in the job's
 * fenced completion by pgkb.ingest_document(). With the builtin embedder (see ingest_embed_dim) the rows are
 * embedded here and inserted with their vectors, so the document is ready at once. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/embed/embed.h"
#include "lib/embed/embed_builtin.h"
#include "lib/util/hash.h"
#include "workers/ingest/ingest.h"
#include "workers/ingest/ingest_files.h"
#include "workers/ingest/ingest_fold.h"
#include "workers/ingest/ingest_job.h"
#include "workers/ingest/ingest_write.h"
#include "lib/text/kbdoc.h"
#include "lib/util/log.h"
#include "lib/util/mem.h"
#include "lib/pg/pgbytea.h"
#include "lib/pg/pgpool.h"
#include "lib/pg/queue.h"
#include "lib/crawl/url.h"
#include "lib/text/utf8.h"
#include "lib/embed/vecfmt.h"

#define DIR_MAX_FILES 100000

/* Writes one document (schema/030_ingest.sql): $13/$14 the rows' vectors (real[] literals, or NULL to leave them
 * to the embed worker), $15 their model, $16 their dimension. Result column 0: chunked, ready or unchanged. */
static const struct pg_stmt ingest_document_stmt = {
	"pgkb_ingest_document_v",
	"SELECT * FROM pgkb.ingest_document($1, $2, $3, $4, $5, $6, $7, $8::int, $9::int, $10::jsonb, $11::jsonb, $12,"
	" $13::real[], $14::real[], $15, $16::int)",
	16,
};

static const struct pg_stmt ingest_not_possible_stmt = {
	"pgkb_ingest_not_possible",
	"SELECT pgkb.ingest_not_possible($1, $2, $3, $4, $5, $6, $7)",
	7,
};

static const struct pg_stmt ingest_read_document = {
	"pgkb_ingest_read_document",
	"SELECT source_id, url, kind, body, content_type, status FROM pgkb.documents WHERE id = $1::bigint",
	1,
};
enum { DOC_SOURCE_ID, DOC_URL, DOC_KIND, DOC_BODY, DOC_CONTENT_TYPE, DOC_STATUS };

static const struct pg_stmt ingest_ensure_source = {
	"pgkb_ingest_ensure_source",
	"INSERT INTO public.archon_sources (source_id, source_url, source_display_name, title, metadata)"
	" VALUES ($1, $2, $2, $3, jsonb_build_object('knowledge_type', 'documentation', 'source_type', 'file'))"
	" ON CONFLICT (source_id) DO NOTHING",
	3,
};

/* One ingest job per file of a directory, in the directory job's completion. */
static const struct pg_stmt ingest_fan_out = {
	"pgkb_ingest_fan_out",
	"INSERT INTO pgkb.jobs (kind, payload, dedupe_key)"
	" SELECT 'ingest', jsonb_build_object('path', p, 'source_id', $2::text), 'ingest:' || $2 || ':' || md5(p)"
	"   FROM jsonb_array_elements_text($1::jsonb) AS p",
	2,
};

/* The dimension the ingest worker embeds new rows at, or 0 when it leaves them to the embed worker. It embeds
 * them itself when the provider is the builtin one (local CPU, deterministic: the same vectors an embed worker
 * would store) and this supervisor runs embed workers: the rows are then inserted once, with their vectors,
 * instead of inserted and updated again (an UPDATE that touches every index of the row), and no embed job is
 * needed. A remote provider, or no embed workers here (embedding left to other hosts, or not wanted yet), leaves
 * the rows to an embed worker as before. */
static int ingest_embed_dim(const struct cfg *cfg)
{
	bool builtin = embed_provider_parse(cfg->embed_provider) == EMBED_PROVIDER_BUILTIN;
	return builtin && cfg->workers[CFG_WORKER_EMBED].processes > 0 ? cfg->embed_dimension : 0;
}

/* The writes of a result. They commit asynchronously, as fetch results do: a commit lost in a server crash goes
 * with the job's completion, so the job runs again and writes the same rows. */
static struct pg_req *writes_new(void)
{
	struct pg_req *w = pg_req_new(NULL, NULL);
	pg_req_addl(w, &queue_async_commit);
	return w;
}

/* A document identity for one input: what was read and the settings it is converted with, so an unchanged
 * input with unchanged settings is recognised and written no more. */
static void input_hash(const struct cfg *cfg, const char *data, size_t len, char out[HASH_HEX_LEN + 1])
{
	char h[HASH_HEX_LEN + 1];
	hash_sha256_hex(data, len, h);
	char *keyed = xasprintf("%s/%d/%d/%d/kbdoc1", h, cfg->chunk_size, cfg->chunk_overlap, cfg->code_min_length);
	hash_sha256_hex(keyed, strlen(keyed), out);
	free(keyed);
}

/* The source of files without an explicit source_id: their directory, as Archon derives ids from URLs. */
static char *dir_source_id(const char *dir)
{
	char *u = xasprintf("file://%s", dir);
	char h[HASH_HEX_LEN + 1];
	hash_sha256_hex(u, strlen(u), h);
	free(u);
	return xstrndup(h, 16);
}

static void fail_not_possible(struct ingest_job *j, const char *source_id, const char *url, const char *kind,
                              const char *status, const char *error, const char *hash)
{
	log_info("ingest job %lld: %s %s: %s", j->job_id, url, status, error);
	char *clean = utf8_clean_dup(error, strlen(error));
	struct pg_req *w = writes_new();
	pg_req_addl(w, &ingest_not_possible_stmt, source_id, url, kind, status, clean, hash, url);
	free(clean);
	ingest_write_submit(j, w, strcmp(status, "skipped") == 0); /* a skipped page leaves its source's word count */
}

/* Converts and writes one document. hash NULL: always write (a fetched page). */
static void ingest_one(struct ingest_job *j, const char *source_id, const char *url, const char *kind,
                       const char *data, size_t len, const char *content_type, const char *name,
                       const char *hash, const char *source_url)
{
	const struct cfg *cfg = worker_cfg(j->run->worker);
	int dim = ingest_embed_dim(cfg);
	struct kbdoc_opts o = {cfg->chunk_size, cfg->chunk_overlap, cfg->code_min_length, dim};
	const char *base = strrchr(name ? name : url, '/');
	struct kbdoc doc;
	char *err = NULL;
	if (kbdoc_build(data, len, content_type, name, url, source_id, base ? base + 1 : url, &o, &doc, &err) != 0) {
		fail_not_possible(j, source_id, url, kind, "failed", err, hash);
		free(err);
		return;
	}
	if (doc.markdown_len == 0) {
		fail_not_possible(j, source_id, url, kind, "skipped", "empty document: no text to ingest", hash);
		kbdoc_free(&doc);
		return;
	}
	char words[16], chars[16], d[16];
	snprintf(words, sizeof words, "%d", doc.words);
	snprintf(chars, sizeof chars, "%d", doc.chars);
	snprintf(d, sizeof d, "%d", dim);
	struct buf cv = BUF_INIT, xv = BUF_INIT;
	if (dim && (vecfmt_append(&cv, doc.chunk_vectors, (size_t)doc.nchunks * (size_t)dim, VECFMT_ARRAY) != 0 ||
	            vecfmt_append(&xv, doc.code_vectors, (size_t)doc.ncodes * (size_t)dim, VECFMT_ARRAY) != 0)) {
		job_fail(ingest_end(j), "ingest: a builtin embedding holds a non-finite number", true);
	} else {
		struct pg_req *w = writes_new();
		const char *params[16] = {source_id, url, kind, hash, doc.title, doc.description, doc.markdown, words,
		                          chars, doc.chunks_json, doc.codes_json, source_url, dim ? buf_str(&cv) : NULL,
		                          dim ? buf_str(&xv) : NULL, dim ? EMBED_BUILTIN_MODEL : NULL, dim ? d : NULL};
		pg_req_add(w, &ingest_document_stmt, params);
		log_debug("ingest job %lld: %s: %d chunks, %d code examples%s", j->job_id, url, doc.nchunks, doc.ncodes,
		          dim ? ", embedded" : "");
		ingest_write_submit(j, w, true);
	}
	buf_free(&cv);
	buf_free(&xv);
	kbdoc_free(&doc);
}

/* {"path": FILE}: one file. */
static void ingest_file(struct ingest_job *j, const char *resolved, const char *source_id)
{
	char *owned_source = NULL;
	if (!source_id) {
		char *dir = xstrdup(resolved);
		char *slash = strrchr(dir, '/');
		if (slash)
			*(slash == dir ? slash + 1 : slash) = '\0';
		source_id = owned_source = dir_source_id(dir);
		free(dir);
	}
	char *url = xasprintf("file://%s", resolved);
	char *data = NULL, *err = NULL;
	size_t len = 0;
	if (ingest_read_file(resolved, worker_cfg(j->run->worker)->max_document_bytes, &data, &len, &err) != 0) {
		fail_not_possible(j, source_id, url, "file", "failed", err, NULL);
		free(err);
	} else {
		char h[HASH_HEX_LEN + 1];
		input_hash(worker_cfg(j->run->worker), data, len, h);
		ingest_one(j, source_id, url, "file", data, len, NULL, resolved, h, url);
		free(data);
	}
	free(url);
	free(owned_source);
}

/* {"path": DIR}: one ingest job per file under it, enqueued with the directory job's completion. */
static void ingest_dir(struct ingest_job *j, const char *resolved, const char *source_id)
{
	char *owned_source = source_id ? NULL : dir_source_id(resolved);
	if (!source_id)
		source_id = owned_source;
	char **paths = NULL;
	size_t n = ingest_list_dir(resolved, worker_cfg(j->run->worker)->ingest_roots, DIR_MAX_FILES, &paths);
	json_t *arr = json_array();
	size_t skipped = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_string(paths[i]); /* NULL for a name that is not valid UTF-8 */
		if (s)
			json_array_append_new(arr, s);
		else
			skipped++;
	}
	char *list = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	char *dir_url = xasprintf("file://%s", resolved);
	struct pg_req *w = writes_new();
	pg_req_addl(w, &ingest_ensure_source, source_id, dir_url, resolved); /* titled by its directory */
	pg_req_addl(w, &ingest_fan_out, list, source_id);
	log_info("ingest job %lld: %s: %zu files to ingest into source %s%s", j->job_id, resolved, n - skipped,
	         source_id, skipped ? " (some names are not valid UTF-8 and were skipped)" : "");
	free(list);
	free(dir_url);
	ingest_free_list(paths, n);
	free(owned_source);
	ingest_write_submit(j, w, false);
}

static void on_document_read(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	struct ingest_job *j = arg;
	if (j->stage == INGEST_ABANDONED) {
		ingest_job_drop(j);
		return;
	}
	if (!out->ok) {
		job_fail(ingest_end(j), out->error, false);
		return;
	}
	const PGresult *res = out->results[0];
	if (PQntuples(res) == 0) {
		char *e = xasprintf("ingest: document %s does not exist", req->params.data);
		job_fail(ingest_end(j), e, true);
		free(e);
		return;
	}
	const char *source_id = pg_value(res, 0, DOC_SOURCE_ID), *url = pg_value(res, 0, DOC_URL),
	           *kind = pg_value(res, 0, DOC_KIND), *status = pg_value(res, 0, DOC_STATUS);
	const char *stored = pg_value(res, 0, DOC_BODY);
	if (!stored) {
		/* Already ingested (a duplicate or retried job): nothing to do. */
		if (strcmp(status, "fetched") == 0)
			job_fail(ingest_end(j), "ingest: the document has no stored body", true);
		else
			job_succeed(ingest_end(j));
		return;
	}
	ingest_stage(j, INGEST_CONVERTING);
	size_t len;
	char *body = pg_bytea_decode(stored, &len);
	if (!body)
		job_fail(ingest_end(j), "ingest: the stored body is not in bytea hex format", true);
	else
		ingest_one(j, source_id, url, kind, body, len, pg_value(res, 0, DOC_CONTENT_TYPE), url, NULL, url);
	free(body);
}

static void ingest_document_id(struct ingest_job *j, long long id)
{
	char sid[32];
	snprintf(sid, sizeof sid, "%lld", id);
	struct pg_req *req = pg_req_new(on_document_read, j);
	pg_req_addl(req, &ingest_read_document, sid);
	ingest_stage(j, INGEST_READING);
	pool_submit(worker_pool(j->run->worker), req);
}

/* {"content", "url", "title"?, "source_id"?}: inline text. */
static void ingest_inline(struct ingest_job *j, const char *content, const char *url, const char *title,
                          const char *source_id)
{
	char *owned = NULL;
	if (!source_id) {
		owned = url_source_id(url);
		if (!owned) {
			char h[HASH_HEX_LEN + 1];
			hash_sha256_hex(url, strlen(url), h);
			owned = xstrndup(h, 16);
		}
		source_id = owned;
	}
	ingest_stage(j, INGEST_CONVERTING);
	size_t len = strlen(content);
	int64_t max_bytes = worker_cfg(j->run->worker)->max_document_bytes;
	/* The same bound as a file's (ingest_read_file): the payload's own bound (32 MiB, schema/081) is wider. */
	if (max_bytes > 0 && (int64_t)len > max_bytes) {
		char *err = ingest_too_large("inline content", (int64_t)len, max_bytes);
		fail_not_possible(j, source_id, url, "inline", "failed", err, NULL);
		free(err);
		free(owned);
		return;
	}
	char h[HASH_HEX_LEN + 1];
	struct buf keyed = BUF_INIT;
	buf_printf(&keyed, "%s\n%s", title ? title : "", content);
	input_hash(worker_cfg(j->run->worker), keyed.data, keyed.len, h);
	buf_free(&keyed);
	/* A given title leads the text as a heading, so it becomes the page title and heads the chunks. */
	char *text = title ? xasprintf("# %s\n\n%s", title, content) : NULL;
	ingest_one(j, source_id, url, "inline", text ? text : content, text ? strlen(text) : len, "text/markdown",
	           NULL, h, url);
	free(text);
	free(owned);
}

/* Reads an optional string member; returns -1 (with *err) when present but not a non-empty string. */
static int opt_string(json_t *o, const char *key, const char **out, char **err)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0) {
		*err = xasprintf("ingest: \"%s\" must be a non-empty string", key);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

static char *check_keys(json_t *o, const char *const *allowed)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			ok |= strcmp(k, allowed[i]) == 0;
		if (!ok)
			return xasprintf("ingest: unknown payload key \"%s\"", k);
	}
	return NULL;
}

static void ingest_path(struct ingest_job *j, const char *path, const char *source_id)
{
	char *err = NULL;
	char *resolved = ingest_resolve(path, worker_cfg(j->run->worker)->ingest_roots, &err);
	if (!resolved) {
		char *msg = xasprintf("ingest: %s", err);
		job_fail(ingest_end(j), msg, true);
		free(msg);
		free(err);
		return;
	}
	ingest_stage(j, INGEST_CONVERTING);
	struct stat st;
	if (stat(resolved, &st) == 0 && S_ISDIR(st.st_mode))
		ingest_dir(j, resolved, source_id);
	else
		ingest_file(j, resolved, source_id);
	free(resolved);
}

static void ingest_run(struct job_run *r)
{
	struct ingest_job *j = ingest_job_new(r);
	json_error_t jerr;
	json_t *o = json_loads(r->job.payload, 0, &jerr);
	char *err = NULL;
	const char *path, *content, *url, *title, *source_id;
	json_t *doc_id = o ? json_object_get(o, "document_id") : NULL;
	if (!json_is_object(o)) {
		err = xasprintf("ingest: payload is not a JSON object");
	} else if (doc_id) {
		static const char *const keys[] = {"document_id", NULL};
		if (!(err = check_keys(o, keys)) && (!json_is_integer(doc_id) || json_integer_value(doc_id) <= 0))
			err = xasprintf("ingest: \"document_id\" must be a positive integer");
		if (!err)
			ingest_document_id(j, (long long)json_integer_value(doc_id));
	} else if (json_object_get(o, "path")) {
		static const char *const keys[] = {"path", "source_id", NULL};
		if (!(err = check_keys(o, keys)) && opt_string(o, "path", &path, &err) == 0 &&
		    opt_string(o, "source_id", &source_id, &err) == 0)
			ingest_path(j, path, source_id);
	} else if (json_object_get(o, "content")) {
		static const char *const keys[] = {"content", "url", "title", "source_id", NULL};
		if (!(err = check_keys(o, keys)) && opt_string(o, "content", &content, &err) == 0 &&
		    opt_string(o, "url", &url, &err) == 0 && opt_string(o, "title", &title, &err) == 0 &&
		    opt_string(o, "source_id", &source_id, &err) == 0) {
			if (!url)
				err = xasprintf("ingest: inline \"content\" needs a \"url\" naming it");
			else
				ingest_inline(j, content, url, title, source_id);
		}
	} else {
		err = xasprintf("ingest: the payload needs one of \"document_id\", \"path\" or \"content\"");
	}
	json_decref(o);
	if (err) {
		job_fail(ingest_end(j), err, true);
		free(err);
	}
}

/* Drain timeout: a job reading its document is marked, and that read's callback frees it; one waiting to write
 * leaves the queue, its result unsent. Converting is synchronous: no job is handed back in the middle of it. */
static void ingest_abandon(struct job_run *r)
{
	struct ingest_job *j = r->state;
	r->state = NULL;
	j->run = NULL; /* the worker frees r after this call */
	if (j->stage == INGEST_READING) {
		ingest_stage(j, INGEST_ABANDONED);
		return;
	}
	if (j->stage == INGEST_WAITING)
		ingest_write_cancel(j);
	ingest_job_drop(j);
}

static int ingest_start(struct worker *w)
{
	return ingest_fold_start(worker_loop(w), worker_cfg(w));
}

static void ingest_stop(struct worker *w)
{
	ingest_fold_stop();
}

const struct handler ingest_handler = {
	.kind = "ingest",
	.run = ingest_run,
	.abandon = ingest_abandon,
	.start = ingest_start,
	.stop = ingest_stop,
};
