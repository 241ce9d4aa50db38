/* The ingest job: a stored page ({"document_id"}), files or a directory under the ingest roots ({"path"}),
 * or inline text ({"content", "url"}) becomes page metadata, chunks and code examples, written in the job's
 * fenced completion by pgkb.ingest_document(). With the builtin embedder (see ingest_embed_dim) the rows are
 * embedded here and inserted with their vectors, so the document is ready at once. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/doc/docconv.h"
#include "lib/embed/embed.h"
#include "lib/embed/embed_builtin.h"
#include "lib/util/hash.h"
#include "workers/ingest/ingest.h"
#include "workers/ingest/ingest_docs.h"
#include "workers/ingest/ingest_files.h"
#include "workers/ingest/ingest_fold.h"
#include "workers/ingest/ingest_job.h"
#include "workers/ingest/ingest_write.h"
#include "lib/text/kbdoc.h"
#include "lib/util/buf.h"
#include "lib/util/log.h"
#include "lib/util/mem.h"
#include "lib/util/offload.h"
#include "lib/pg/pgbytea.h"
#include "lib/util/payload.h"
#include "lib/pg/pgpool.h"
#include "lib/pg/queue.h"
#include "lib/crawl/url.h"
#include "lib/text/utf8.h"
#include "lib/embed/vecfmt.h"

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

/* What a document's extraction adds to its page's metadata (author, format, pages: ingest_doc_page_meta), in
 * the same transaction as pgkb.ingest_document; the source condition leaves a page another source owns. */
static const struct pg_stmt ingest_page_meta = {
	"pgkb_ingest_page_meta",
	"UPDATE public.archon_page_metadata SET metadata = metadata || $3::jsonb WHERE url = $1 AND source_id = $2",
	3,
};

static const struct pg_stmt ingest_read_document = {
	"pgkb_ingest_read_document",
	"SELECT source_id, url, kind, body, content_type, status FROM pgkb.documents WHERE id = $1::bigint",
	1,
};
enum { DOC_SOURCE_ID, DOC_URL, DOC_KIND, DOC_BODY, DOC_CONTENT_TYPE, DOC_STATUS };

/* Archon's source keys (088_archon.sql): knowledge_type 'technical' (Archon knows technical and business),
 * update_frequency 0 (files are synced by ingest, never re-crawled). */
static const struct pg_stmt ingest_ensure_source = {
	"pgkb_ingest_ensure_source",
	"INSERT INTO public.archon_sources (source_id, source_url, source_display_name, title, metadata)"
	" VALUES ($1, $2::text, $2::text, $3, jsonb_build_object('knowledge_type', 'technical', 'source_type', 'file',"
	"         'tags', '[]'::jsonb, 'update_frequency', 0, 'original_url', $2::text))"
	" ON CONFLICT (source_id) DO NOTHING",
	3,
};

/* One ingest job per file of a directory batch (FAN_OUT_BATCH). parent_job_id leads from the directory's job
 * to them (pgkb.job_tree, schema/085_readiness.sql); the worker does not read it. */
static const struct pg_stmt ingest_fan_out = {
	"pgkb_ingest_fan_out",
	"INSERT INTO pgkb.jobs (kind, payload, dedupe_key)"
	" SELECT 'ingest', jsonb_build_object('path', p, 'source_id', $2::text, 'parent_job_id', $3::bigint),"
	"        'ingest:' || $2 || ':' || md5(p)"
	"   FROM jsonb_array_elements_text($1::jsonb) AS p",
	3,
};

/* Directory sync (schema/086_sync.sql): after a complete walk, the source's file documents under the directory
 * that the walk did not list become gone, in the directory job's completion transaction. */
static const struct pg_stmt ingest_sync_directory = {
	"pgkb_ingest_sync_directory",
	"SELECT pgkb.sync_directory($1, $2, $3::jsonb)",
	3,
};

/* What a directory job's walk left out, in its history row: the job succeeded, and this says what it did not
 * cover and why. The completion moves the job to pgkb.job_history before the writes that follow it run. */
static const struct pg_stmt ingest_dir_note = {
	"pgkb_ingest_dir_note",
	"UPDATE pgkb.job_history SET last_error = $2 WHERE id = $1::bigint AND state = 'succeeded'",
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

/* Writes a built document; page_meta (may be NULL) is merged into its page's metadata. Takes doc. */
static void write_kbdoc(struct ingest_job *j, const char *source_id, const char *url, const char *kind,
                        const char *hash, const char *source_url, struct kbdoc *doc, int dim, const char *page_meta)
{
	char words[16], chars[16], d[16];
	snprintf(words, sizeof words, "%d", doc->words);
	snprintf(chars, sizeof chars, "%d", doc->chars);
	snprintf(d, sizeof d, "%d", dim);
	struct buf cv = BUF_INIT, xv = BUF_INIT;
	if (dim && (vecfmt_append(&cv, doc->chunk_vectors, (size_t)doc->nchunks * (size_t)dim, VECFMT_ARRAY) != 0 ||
	            vecfmt_append(&xv, doc->code_vectors, (size_t)doc->ncodes * (size_t)dim, VECFMT_ARRAY) != 0)) {
		job_fail(ingest_end(j), "ingest: a builtin embedding holds a non-finite number", true);
	} else {
		struct pg_req *w = writes_new();
		const char *params[16] = {source_id, url, kind, hash, doc->title, doc->description, doc->markdown, words,
		                          chars, doc->chunks_json, doc->codes_json, source_url, dim ? buf_str(&cv) : NULL,
		                          dim ? buf_str(&xv) : NULL, dim ? EMBED_BUILTIN_MODEL : NULL, dim ? d : NULL};
		pg_req_add(w, &ingest_document_stmt, params);
		if (page_meta)
			pg_req_addl(w, &ingest_page_meta, url, source_id, page_meta);
		log_debug("ingest job %lld: %s: %d chunks, %d code examples%s", j->job_id, url, doc->nchunks, doc->ncodes,
		          dim ? ", embedded" : "");
		ingest_write_submit(j, w, true);
	}
	buf_free(&cv);
	buf_free(&xv);
	kbdoc_free(doc);
}

static const char *base_name(const char *name, const char *url)
{
	const char *base = strrchr(name ? name : url, '/');
	return base ? base + 1 : url;
}

/* Converts and writes one text document (HTML, Markdown, text). hash NULL: always write (a fetched page). */
static void ingest_one(struct ingest_job *j, const char *source_id, const char *url, const char *kind,
                       const char *data, size_t len, const char *content_type, const char *name,
                       const char *hash, const char *source_url)
{
	const struct cfg *cfg = worker_cfg(j->run->worker);
	int dim = ingest_embed_dim(cfg);
	struct kbdoc_opts o = {cfg->chunk_size, cfg->chunk_overlap, cfg->code_min_length, dim};
	struct kbdoc doc;
	char *err = NULL;
	if (kbdoc_build(data, len, content_type, name, url, source_id, base_name(name, url), &o, &doc, &err) != 0) {
		fail_not_possible(j, source_id, url, kind, "failed", err, hash);
		free(err);
		return;
	}
	char *depth_msg = doc.depth_limit ? xasprintf("HTML nested deeper than the parser's limit of %d elements: "
	                                              "the text after that point is left out", doc.depth_limit)
	                                  : NULL;
	if (doc.markdown_len == 0) {
		char *msg = depth_msg ? xasprintf("empty document: no text to ingest (%s)", depth_msg)
		                      : xstrdup("empty document: no text to ingest");
		fail_not_possible(j, source_id, url, kind, "skipped", msg, hash);
		free(msg);
		free(depth_msg);
		kbdoc_free(&doc);
		return;
	}
	if (depth_msg) /* the text up to the limit is ingested: say what was left out */
		log_warn("ingest job %lld: %s: %s", j->job_id, url, depth_msg);
	free(depth_msg);
	write_kbdoc(j, source_id, url, kind, hash, source_url, &doc, dim, NULL);
}

/* A PDF or office document on its way through the contained converter (lib/doc/docconv.h): the converter
 * child reads data, which stays here, unchanged, until the callback. */
struct ingest_extract {
	struct ingest_job *job;
	struct docconv *conv;
	enum doc_format format;
	char *source_id, *url, *kind, *hash, *source_url, *name;
	char *data;
	size_t len;
};

static void extract_free(struct ingest_extract *e)
{
	free(e->source_id);
	free(e->url);
	free(e->kind);
	free(e->hash);
	free(e->source_url);
	free(e->name);
	free(e->data);
	free(e);
}

/* The extracted text, chunked with its pages and written like any other document. */
static void ingest_extracted(struct ingest_job *j, struct ingest_extract *e, const struct doc_text *t)
{
	if (t->markdown_len == 0) {
		const char *why = e->format == DOC_FORMAT_PDF ? "empty document: no text to ingest (a PDF without a text "
		                                                "layer, such as a scan, has none)"
		                                              : "empty document: no text to ingest";
		fail_not_possible(j, e->source_id, e->url, e->kind, "skipped", why, e->hash);
		return;
	}
	const struct cfg *cfg = worker_cfg(j->run->worker);
	int dim = ingest_embed_dim(cfg);
	struct kbdoc_opts o = {cfg->chunk_size, cfg->chunk_overlap, cfg->code_min_length, dim};
	/* #page=N opens a PDF at its page N (RFC 8118); slides and chapters have their numbers but no such URL */
	struct kbdoc_pages pages = {t->page_start, t->npages, e->format == DOC_FORMAT_PDF ? e->url : NULL};
	struct kbdoc doc;
	char *err = NULL;
	if (kbdoc_build_markdown(t->markdown, t->markdown_len, t->title, "", e->url, e->source_id,
	                         base_name(e->name, e->url), &o, ingest_doc_paged(e->format) ? &pages : NULL, &doc,
	                         &err) != 0) {
		fail_not_possible(j, e->source_id, e->url, e->kind, "failed", err, e->hash);
		free(err);
		return;
	}
	if (t->truncated)
		log_warn("ingest job %lld: %s: cut short at ingest.max_document_pages (%d) or the converter's output bound",
		         j->job_id, e->url, cfg->max_document_pages);
	char *meta = ingest_doc_page_meta(t);
	write_kbdoc(j, e->source_id, e->url, e->kind, e->hash, e->source_url, &doc, dim, meta);
	free(meta);
}

static void on_extracted(struct docconv_result *res, void *arg)
{
	struct ingest_extract *e = arg;
	struct ingest_job *j = e->job;
	j->extract = NULL; /* the handle is freed when this returns */
	ingest_stage(j, INGEST_CONVERTING);
	log_debug("ingest job %lld: %s: %s extraction: %s in %.3f s", j->job_id, e->url, doc_format_name(e->format),
	          doc_status_name(res->status), res->seconds);
	if (res->status != DOC_OK) {
		char *why = ingest_doc_reason(e->format, res->status, res->reason);
		fail_not_possible(j, e->source_id, e->url, e->kind, ingest_doc_status(res->status), why, e->hash);
		free(why);
	} else {
		ingest_extracted(j, e, &res->doc);
	}
	docconv_result_free(res);
	extract_free(e);
}

/* Routes one input: a PDF or office document (by its content, whatever its name or Content-Type says) to the
 * contained converter, within its format's size bound; anything else to the text path, within
 * ingest.max_document_bytes. Takes data (heap, len bytes). hash NULL: always write (a fetched page). */
static void ingest_input(struct ingest_job *j, const char *source_id, const char *url, const char *kind,
                         char *data, size_t len, const char *content_type, const char *name, const char *hash,
                         const char *source_url)
{
	const struct cfg *cfg = worker_cfg(j->run->worker);
	enum doc_format f = doc_sniff(data, len);
	/* a zip that sniffing cannot place (truncated, or no document at all) still goes to the converter, which
	 * says what it is: "not a readable zip", "not a PDF, DOCX, ..." */
	bool zip = len >= 4 && memcmp(data, "PK\3\4", 4) == 0;
	if (f == DOC_FORMAT_UNKNOWN && !zip) {
		if (cfg->max_document_bytes > 0 && (int64_t)len > cfg->max_document_bytes) {
			/* read within a document's larger bound (its head looked like a zip or a PDF), yet no document */
			char *err = ingest_too_large("file", (int64_t)len, cfg->max_document_bytes);
			fail_not_possible(j, source_id, url, kind, "failed", err, hash);
			free(err);
		} else {
			ingest_one(j, source_id, url, kind, data, len, content_type, name, hash, source_url);
		}
		free(data);
		return;
	}
	const char *key;
	int64_t max = ingest_doc_max_bytes(cfg, f, &key);
	if ((int64_t)len > max) {
		char *what = xasprintf("%s document", doc_format_name(f));
		char *err = ingest_too_large_key(what, (int64_t)len, max, key);
		fail_not_possible(j, source_id, url, kind, "failed", err, hash);
		free(err);
		free(what);
		free(data);
		return;
	}
	struct ingest_extract *e = xcalloc(1, sizeof *e);
	e->job = j;
	e->format = f;
	e->source_id = xstrdup(source_id);
	e->url = xstrdup(url);
	e->kind = xstrdup(kind);
	e->hash = hash ? xstrdup(hash) : NULL;
	e->source_url = xstrdup(source_url);
	e->name = name ? xstrdup(name) : NULL;
	e->data = data;
	e->len = len;
	struct doc_limits lim;
	ingest_doc_limits(cfg, &lim);
	ingest_stage(j, INGEST_EXTRACTING);
	j->extract = e;
	e->conv = docconv_start(worker_loop(j->run->worker), e->data, e->len, &lim, on_extracted, e);
	if (!e->conv) { /* no pipe or no fork: the machine is short of processes or descriptors; try again later */
		char *msg = xasprintf("ingest: cannot start the document converter: %s", strerror(errno));
		j->extract = NULL;
		extract_free(e);
		job_fail(ingest_end(j), msg, false);
		free(msg);
	}
}

/* Hands back a job whose document is being extracted: the converter child is killed and reaped. */
static void extract_cancel(struct ingest_job *j)
{
	struct ingest_extract *e = j->extract;
	j->extract = NULL;
	docconv_cancel(e->conv);
	extract_free(e);
}

/* {"path": FILE}: one file, read on the file thread. */
static void ingest_file(struct ingest_job *j, struct ingest_target *t, const char *source_id)
{
	const char *resolved = t->resolved;
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
	if (t->kind == INGEST_TARGET_READ_ERROR) {
		fail_not_possible(j, source_id, url, "file", "failed", t->err, NULL);
	} else {
		char h[HASH_HEX_LEN + 1];
		input_hash(worker_cfg(j->run->worker), t->data, t->len, h);
		char *data = t->data;
		t->data = NULL;
		ingest_input(j, source_id, url, "file", data, t->len, NULL, resolved, h, url);
	}
	free(url);
	free(owned_source);
}

/* {"path": DIR}: one ingest job per file under it, enqueued in batches of FAN_OUT_BATCH jobs, each batch its
 * own transaction. One INSERT of every file took one advisory lock per row in the dedupe trigger and, with 100,000
 * files, ran a default server's lock table (max_locks_per_transaction) out of room, failing unrelated queries. A
 * batch is idempotent (a file's job has the dedupe key ingest:SOURCE:md5(PATH)), so a directory job retried
 * after some batches committed enqueues no file twice while those jobs are queued or running. The directory
 * job completes after its last batch, with the source row and, when the walk left anything, the reason in its
 * history's last_error. */
#define FAN_OUT_BATCH 1000

struct fan_out {
	struct ingest_job *job;
	struct ingest_target *target;
	char *source_id;
	json_t *names; /* the listed paths as JSON strings; names that are not valid UTF-8 are left out */
	size_t from, next; /* the batch in flight: names[from, next) */
	size_t invalid;
	bool sync; /* the payload's "sync" (default true): retire what the walk no longer lists */
};

static void fan_out_free(struct fan_out *f)
{
	ingest_target_free(f->target);
	free(f->source_id);
	json_decref(f->names);
	free(f);
}

static void fan_out_finish(struct fan_out *f)
{
	struct ingest_job *j = f->job;
	const char *resolved = f->target->resolved;
	size_t n = json_array_size(f->names);
	struct buf note = BUF_INIT;
	if (f->target->skipped)
		buf_printf(&note, "%s", f->target->skipped);
	if (f->invalid)
		buf_printf(&note, "%s%zu names that are not valid UTF-8", note.len ? "; " : "", f->invalid);
	/* A name that is not valid UTF-8 has no document (its file:// URL cannot be stored): leaving it out of the
	 * listing hides nothing from the sync. A bound that cut the walk may have: then nothing is retired. */
	if (f->sync && f->target->partial)
		buf_printf(&note, "%sthe walk was partial, so no document was retired", note.len ? "; " : "");
	char *dir_url = xasprintf("file://%s", resolved);
	struct pg_req *w = writes_new();
	pg_req_addl(w, &ingest_ensure_source, f->source_id, dir_url, resolved); /* for a directory without files */
	if (f->sync && !f->target->partial) {
		char *list = json_dumps(f->names, JSON_COMPACT);
		pg_req_addl(w, &ingest_sync_directory, f->source_id, resolved, list);
		free(list);
	}
	if (note.len) {
		char id[32];
		snprintf(id, sizeof id, "%lld", j->job_id);
		char *msg = xasprintf("%zu files enqueued; left out: %s", n, buf_str(&note));
		pg_req_addl(w, &ingest_dir_note, id, msg);
		log_info("ingest job %lld: %s: %s", j->job_id, resolved, msg);
		free(msg);
	}
	log_info("ingest job %lld: %s: %zu files to ingest into source %s", j->job_id, resolved, n, f->source_id);
	buf_free(&note);
	free(dir_url);
	fan_out_free(f);
	ingest_write_submit(j, w, false);
}

static void fan_out_next(struct fan_out *f);

static void on_fan_out_batch(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	struct fan_out *f = arg;
	struct ingest_job *j = f->job;
	if (j->stage == INGEST_ABANDONED) {
		fan_out_free(f);
		ingest_job_drop(j);
		return;
	}
	size_t n = json_array_size(f->names);
	if (!out->ok) {
		char *e = xasprintf("ingest: enqueuing files %zu-%zu of %zu of %s: %s", f->from + 1, f->next, n,
		                    f->target->resolved, out->error);
		fan_out_free(f);
		job_fail(ingest_end(j), e, false); /* retried: the batches that committed are not enqueued twice */
		free(e);
		return;
	}
	log_info("ingest job %lld: %s: enqueued %zu of %zu files", j->job_id, f->target->resolved, f->next, n);
	fan_out_next(f);
}

static void fan_out_next(struct fan_out *f)
{
	size_t n = json_array_size(f->names);
	if (f->next >= n) {
		fan_out_finish(f);
		return;
	}
	size_t end = f->next + FAN_OUT_BATCH < n ? f->next + FAN_OUT_BATCH : n;
	json_t *batch = json_array();
	for (size_t i = f->next; i < end; i++)
		json_array_append(batch, json_array_get(f->names, i));
	char *list = json_dumps(batch, JSON_COMPACT);
	json_decref(batch);
	f->from = f->next;
	f->next = end;
	struct pg_req *req = pg_req_new(on_fan_out_batch, f);
	pg_req_addl(req, &queue_async_commit);
	if (f->from == 0) { /* the source exists, titled by its directory, before its files' jobs can run */
		char *dir_url = xasprintf("file://%s", f->target->resolved);
		pg_req_addl(req, &ingest_ensure_source, f->source_id, dir_url, f->target->resolved);
		free(dir_url);
	}
	char parent[32];
	snprintf(parent, sizeof parent, "%lld", f->job->job_id);
	pg_req_addl(req, &ingest_fan_out, list, f->source_id, parent);
	free(list);
	pool_submit(worker_pool(f->job->run->worker), req);
}

static void ingest_dir(struct ingest_job *j, struct ingest_target *t, const char *source_id, bool sync)
{
	ingest_stage(j, INGEST_ENQUEUING);
	struct fan_out *f = xcalloc(1, sizeof *f);
	f->job = j;
	f->target = t;
	f->sync = sync;
	f->source_id = source_id ? xstrdup(source_id) : dir_source_id(t->resolved);
	f->names = json_array();
	for (size_t i = 0; i < t->npaths; i++) {
		json_t *s = json_string(t->paths[i]); /* NULL for a name that is not valid UTF-8 */
		if (s)
			json_array_append_new(f->names, s);
		else
			f->invalid++;
	}
	fan_out_next(f);
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
		ingest_input(j, source_id, url, kind, body, len, pg_value(res, 0, DOC_CONTENT_TYPE), url, NULL, url);
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

/* Path jobs open, read and walk their files on this process's file thread: a directory of 100,000 files takes
 * seconds to walk, and a file on a slow or hung file system may take any time to read, while the loop must keep
 * renewing leases, serving other jobs and answering SIGTERM. (Chunked reads on the loop would bound a read's
 * slices but not a directory walk or a stalled read() on a network file system.) */
static struct offload *file_thread;
static int file_thread_stop; /* set (atomically) when the worker stops: walks and reads in progress end early */

struct path_job {
	struct ingest_job *job;
	struct ingest_target *target;
	char *source_id;
	bool sync;
};

static void on_path_ready(void *arg)
{
	struct path_job *p = arg;
	struct ingest_job *j = p->job;
	struct ingest_target *t = p->target;
	if (j->stage == INGEST_ABANDONED) {
		ingest_target_free(t);
		ingest_job_drop(j);
	} else if (t->kind == INGEST_TARGET_ERROR) {
		char *msg = xasprintf("ingest: %s", t->err ? t->err : "stopped before the path was read");
		job_fail(ingest_end(j), msg, t->err != NULL);
		free(msg);
		ingest_target_free(t);
	} else if (t->kind == INGEST_TARGET_DIR) {
		ingest_dir(j, t, p->source_id, p->sync); /* takes t */
	} else if (strlen("file://") + strlen(t->resolved) > URL_STORE_MAX_LEN) { /* the file:// URL is a btree key */
		char *msg = xasprintf("ingest: the path %.100s... is too long: its file:// URL would be %zu bytes; the "
		                      "limit is %d", t->resolved, strlen("file://") + strlen(t->resolved), URL_STORE_MAX_LEN);
		job_fail(ingest_end(j), msg, true);
		free(msg);
		ingest_target_free(t);
	} else {
		ingest_stage(j, INGEST_CONVERTING);
		ingest_file(j, t, p->source_id);
		ingest_target_free(t);
	}
	free(p->source_id);
	free(p);
}

static void prepare_path(void *arg)
{
	ingest_target_prepare(((struct path_job *)arg)->target);
}

static void ingest_path(struct ingest_job *j, const char *path, const char *source_id, bool sync)
{
	const struct cfg *cfg = worker_cfg(j->run->worker);
	struct path_job *p = xcalloc(1, sizeof *p);
	p->job = j;
	p->target = ingest_target_new(path, cfg->ingest_roots, cfg->max_document_bytes);
	p->target->max_pdf_bytes = cfg->max_pdf_bytes;
	p->target->max_zip_bytes = cfg->max_office_bytes;
	p->source_id = source_id ? xstrdup(source_id) : NULL;
	p->sync = sync;
	p->target->stop = &file_thread_stop;
	ingest_stage(j, INGEST_READING);
	offload_submit(file_thread, prepare_path, on_path_ready, p);
}

static void ingest_run(struct job_run *r)
{
	struct ingest_job *j = ingest_job_new(r);
	char *err;
	json_t *o = payload_object("ingest", r->job.payload, &err);
	const char *path, *content, *url, *title, *source_id;
	json_t *doc_id = o ? json_object_get(o, "document_id") : NULL;
	if (err) {
		/* the payload is no JSON object: err says why */
	} else if (doc_id) {
		static const char *const keys[] = {"document_id", NULL};
		if (!(err = check_keys(o, keys)) && (!json_is_integer(doc_id) || json_integer_value(doc_id) <= 0))
			err = xasprintf("ingest: \"document_id\" must be a positive integer");
		if (!err)
			ingest_document_id(j, (long long)json_integer_value(doc_id));
	} else if (json_object_get(o, "path")) {
		static const char *const keys[] = {"path", "source_id", "parent_job_id", "sync", NULL};
		json_t *sync = json_object_get(o, "sync");
		if (!(err = check_keys(o, keys)) && opt_string(o, "path", &path, &err) == 0 &&
		    opt_string(o, "source_id", &source_id, &err) == 0) {
			if (sync && !json_is_boolean(sync))
				err = xasprintf("ingest: \"sync\" must be true or false");
			else
				ingest_path(j, path, source_id, !sync || json_is_true(sync));
		}
	} else if (json_object_get(o, "content")) {
		static const char *const keys[] = {"content", "url", "title", "source_id", NULL};
		if (!(err = check_keys(o, keys)) && opt_string(o, "content", &content, &err) == 0 &&
		    opt_string(o, "url", &url, &err) == 0 && opt_string(o, "title", &title, &err) == 0 &&
		    opt_string(o, "source_id", &source_id, &err) == 0) {
			if (!url)
				err = xasprintf("ingest: inline \"content\" needs a \"url\" naming it");
			else if (strlen(url) > URL_STORE_MAX_LEN)
				err = xasprintf("ingest: \"url\" is %zu bytes long; the limit is %d", strlen(url),
				                URL_STORE_MAX_LEN);
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

/* Drain timeout: a job reading its document is marked, and that read's callback frees it; one extracting a
 * document has its converter child killed; one waiting to write leaves the queue, its result unsent.
 * Converting is synchronous: no job is handed back in the middle of it. */
static void ingest_abandon(struct job_run *r)
{
	struct ingest_job *j = r->state;
	r->state = NULL;
	j->run = NULL; /* the worker frees r after this call */
	if (j->stage == INGEST_READING || j->stage == INGEST_ENQUEUING) {
		ingest_stage(j, INGEST_ABANDONED); /* the read's or the batch's callback frees it */
		return;
	}
	if (j->stage == INGEST_EXTRACTING)
		extract_cancel(j);
	if (j->stage == INGEST_WAITING)
		ingest_write_cancel(j);
	ingest_job_drop(j);
}

static int ingest_start(struct worker *w)
{
	file_thread_stop = 0;
	file_thread = offload_new(worker_loop(w));
	if (!file_thread) {
		log_error("ingest: cannot start the file thread");
		return -1;
	}
	return ingest_fold_start(worker_loop(w), worker_cfg(w));
}

static void ingest_stop(struct worker *w)
{
	__atomic_store_n(&file_thread_stop, 1, __ATOMIC_RELAXED);
	offload_free(file_thread); /* a task left is handed back as not run: its job was abandoned */
	file_thread = NULL;
	ingest_fold_stop();
}

const struct handler ingest_handler = {
	.kind = "ingest",
	.run = ingest_run,
	.abandon = ingest_abandon,
	.start = ingest_start,
	.stop = ingest_stop,
};
