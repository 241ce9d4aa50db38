/* The fetch job: one URL of a crawl. robots.txt, politeness, conditional GET; then the page's new links are
 * claimed in a short transaction of their own, and the document and its ingest job commit in one fenced
 * transaction with the job. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "workers/crawl/crawl.h"
#include "workers/crawl/crawl_job.h"
#include "workers/crawl/crawl_seen.h"
#include "workers/crawl/fetch.h"
#include "workers/crawl/fetch_media.h"
#include "lib/doc/doc.h"
#include "lib/pg/queue.h"
#include "workers/crawl/fetch_politeness.h"
#include "lib/util/hash.h"
#include "lib/crawl/links.h"
#include "lib/util/log.h"
#include "lib/util/mem.h"
#include "lib/pg/pgbytea.h"
#include "lib/util/payload.h"
#include "lib/pg/pgpool.h"
#include "lib/crawl/url.h"

/* Where a fetch job is. */
enum fetch_stage {
	FETCH_PARSED,       /* payload read */
	FETCH_LOADING,      /* its document and crawl rows: in this iteration's batched load */
	FETCH_ROBOTS,       /* waiting for the origin's robots.txt */
	FETCH_GETTING,      /* the host's politeness slot, then the conditional GET */
	FETCH_READING_BODY, /* 304: reading the stored body for the page's links */
	FETCH_CLAIMING,     /* the page's links claimed in a transaction of their own */
	FETCH_DONE,         /* ended: its result commits with the completion, then the crawl is settled */
	FETCH_ABANDONED,    /* handed back while a database request was in flight; its callback frees it */
	FETCH_STAGES
};

static const char *const fetch_stage_names[FETCH_STAGES] = {
	"parsed", "loading", "robots", "getting", "reading body", "claiming", "done", "abandoned"};
static const unsigned fetch_next[FETCH_STAGES] = {
	[FETCH_PARSED] = STAGE_BIT(FETCH_LOADING),
	[FETCH_LOADING] = STAGE_BIT(FETCH_ROBOTS) | STAGE_BIT(FETCH_DONE) | STAGE_BIT(FETCH_ABANDONED),
	[FETCH_ROBOTS] = STAGE_BIT(FETCH_GETTING) | STAGE_BIT(FETCH_DONE) | STAGE_BIT(FETCH_ABANDONED),
	[FETCH_GETTING] = STAGE_BIT(FETCH_READING_BODY) | STAGE_BIT(FETCH_CLAIMING) | STAGE_BIT(FETCH_DONE) |
	                  STAGE_BIT(FETCH_ABANDONED),
	[FETCH_READING_BODY] = STAGE_BIT(FETCH_CLAIMING) | STAGE_BIT(FETCH_DONE) | STAGE_BIT(FETCH_ABANDONED),
	[FETCH_CLAIMING] = STAGE_BIT(FETCH_DONE) | STAGE_BIT(FETCH_ABANDONED),
};
static const enum crawl_wait fetch_waits[FETCH_STAGES] = {
	[FETCH_LOADING] = CRAWL_WAIT_DB,       [FETCH_ROBOTS] = CRAWL_WAIT_ROBOTS, [FETCH_GETTING] = CRAWL_WAIT_HTTP,
	[FETCH_READING_BODY] = CRAWL_WAIT_DB, [FETCH_CLAIMING] = CRAWL_WAIT_DB,
};

static void fetch_free(struct crawl_job *j);

static const struct crawl_job_kind fetch_kind = {
	{"fetch", FETCH_STAGES, fetch_stage_names, fetch_next}, fetch_waits, FETCH_DONE, FETCH_ABANDONED, fetch_free,
};

struct fetch {
	struct crawl_job job; /* first: the run, the stage and what the stage waits on */
	char crawl_id[24];
	char *url;
	int depth;
	/* from the document and crawl rows */
	char *doc_id, *etag, *last_modified, *old_hash, *root_host;
	struct crawl_opts opts;
	bool conditional;
	char *nm_etag, *nm_lastmod, *nm_final, *nm_redirects; /* a 304's validators and redirects */
	uint64_t *offered; /* crawl_seen hashes of the links offered to the crawl */
	size_t n_offered;
	struct pg_req *writes; /* the result, waiting for its links' claim to commit */
};

/* What the worker does once a fetch's result transaction has ended. */
struct fetch_after {
	char crawl_id[24];
	int settle_index;
};

#define SWEEP_INTERVAL_S 5.0
static ev_timer sweep_timer;

static const struct pg_stmt crawl_sweep = {"pgkb_fetch_sweep", "SELECT pgkb.crawl_sweep()", 0};

/* The documents and crawls of the fetch jobs that started in one loop iteration, in one statement: $1 is a
 * JSON array of {"i": index, "c": crawl_id, "u": url}; each row carries its index (LOAD_INDEX). Each document is
 * looked up by its unique (source_id, url) whatever the statistics: LIMIT keeps the lateral subquery a
 * per-row lookup, never a join, and the crawl is checked outside it, so that no index on crawl_id can serve
 * the lookup (a generic plan made on a tiny table chose documents_crawl_status and read every document of the
 * crawl for each page). */
static const struct pg_stmt doc_load = {
	"pgkb_fetch_load",
	"SELECT d.id, d.etag, d.last_modified, d.content_hash, d.status, c.options, c.root_url, c.status, k.i"
	"  FROM jsonb_to_recordset($1::jsonb) AS k(i int, c bigint, u text)"
	"  JOIN pgkb.crawls c ON c.id = k.c"
	"  CROSS JOIN LATERAL (SELECT d.id, d.etag, d.last_modified, d.content_hash, d.status, d.crawl_id"
	"                        FROM pgkb.documents d WHERE d.source_id = c.source_id AND d.url = k.u LIMIT 1) d"
	" WHERE d.crawl_id = c.id",
	1,
};
enum {
	LOAD_DOC_ID,
	LOAD_ETAG,
	LOAD_LAST_MODIFIED,
	LOAD_CONTENT_HASH,
	LOAD_DOC_STATUS,
	LOAD_CRAWL_OPTIONS,
	LOAD_ROOT_URL,
	LOAD_CRAWL_STATUS,
	LOAD_INDEX,
};
/* New bodies and their ingest jobs, one row per page (pg_req_row): a group commit stores the pages of all its
 * fetches in one statement. */
static const struct pg_stmt doc_store = {
	"pgkb_fetch_store",
	/* by primary key whatever the statistics (no join that could scan documents); each row reads its values
	 * at its id's position. updated_at set here skips the row trigger (schema/020_pgkb_documents.sql). */
	"WITH d AS ("
	" UPDATE pgkb.documents d"
	"    SET (body, content_type, http_status, etag, last_modified, content_hash, final_url, redirects) ="
	"        (SELECT ($2::bytea[])[k.i], ($3::text[])[k.i], ($4::int[])[k.i], ($5::text[])[k.i], ($6::text[])[k.i],"
	"                ($7::text[])[k.i], ($8::text[])[k.i], ($9::jsonb[])[k.i]"
	"           FROM (SELECT array_position($1::bigint[], d.id) AS i) k),"
	"        status = 'fetched', fetched_at = now(), error = NULL, updated_at = now()"
	"  WHERE d.id = ANY ($1::bigint[]) RETURNING d.id)"
	" INSERT INTO pgkb.jobs (kind, payload) SELECT 'ingest', jsonb_build_object('document_id', d.id) FROM d",
	9,
};
static const struct pg_stmt doc_unchanged = {
	"pgkb_fetch_unchanged",
	"UPDATE pgkb.documents SET status = CASE WHEN body IS NULL THEN 'ready' ELSE 'fetched' END,"
	"       ready_at = CASE WHEN body IS NULL THEN coalesce(ready_at, now()) ELSE ready_at END,"
	"       http_status = $2::int, etag = coalesce($3, etag), last_modified = coalesce($4, last_modified),"
	"       final_url = $5, redirects = $6::jsonb, fetched_at = now(), error = NULL"
	" WHERE id = $1::bigint",
	6,
};
static const struct pg_stmt doc_final = {
	"pgkb_fetch_final",
	"UPDATE pgkb.documents SET status = $2, error = $3, http_status = coalesce($4::int, http_status),"
	"       final_url = $5, redirects = $6::jsonb,"
	"       fetched_at = CASE WHEN $4::int IS NULL THEN fetched_at ELSE now() END"
	" WHERE id = $1::bigint",
	6,
};
static const struct pg_stmt doc_gone = {
	"pgkb_fetch_gone",
	"UPDATE pgkb.documents SET status = 'gone', error = $2, http_status = $3::int, body = NULL,"
	"       content_hash = NULL, etag = NULL, last_modified = NULL, chunk_count = 0, code_count = 0,"
	"       ready_at = NULL, fetched_at = now()"
	" WHERE id = $1::bigint",
	3,
};
/* A gone page's rows, of its document's source only: another source may own the same URL (083_sources.sql). */
#define GONE_OF_DOC " WHERE url = $1 AND source_id = (SELECT source_id FROM pgkb.documents WHERE id = $2::bigint)"
static const struct pg_stmt gone_chunks = {
	"pgkb_fetch_gone_chunks", "DELETE FROM public.archon_crawled_pages" GONE_OF_DOC, 2};
static const struct pg_stmt gone_code = {
	"pgkb_fetch_gone_code", "DELETE FROM public.archon_code_examples" GONE_OF_DOC, 2};
static const struct pg_stmt gone_page = {
	"pgkb_fetch_gone_page", "DELETE FROM public.archon_page_metadata" GONE_OF_DOC, 2};

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* Ends the crawl_seen pending state of the links f offered (their claim has ended, one way or another). */
static void offered_done(struct fetch *f)
{
	if (f->n_offered)
		crawl_seen_pending_done(strtoll(f->crawl_id, NULL, 10), f->offered, f->n_offered);
	f->n_offered = 0;
}

static void fetch_free(struct crawl_job *j)
{
	struct fetch *f = (struct fetch *)j;
	offered_done(f);
	free(f->nm_etag);
	free(f->nm_lastmod);
	free(f->nm_final);
	free(f->nm_redirects);
	free(f->offered);
	pg_req_free(f->writes);
	free(f->url);
	free(f->doc_id);
	free(f->etag);
	free(f->last_modified);
	free(f->old_hash);
	free(f->root_host);
	crawl_opts_free(&f->opts);
	free(f);
}

static void fetch_stage(struct fetch *f, enum fetch_stage to)
{
	crawl_job_stage(&f->job, to);
}

/* Ends f's stages and frees f; returns the run for the call that finishes it. */
static struct job_run *fetch_end(struct fetch *f)
{
	return crawl_job_end(&f->job);
}

static void on_settled(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	char *crawl_id = arg;
	if (!out->ok)
		log_warn("settling crawl %s failed: %s", crawl_id, out->error);
	free(crawl_id);
}

static void recheck_later(long long crawl);

static void on_committed(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	struct fetch_after *a = arg;
	if (out->ok && strcmp(pg_value(out->results[a->settle_index], 0, 0), "recheck") == 0)
		recheck_later(strtoll(a->crawl_id, NULL, 10));
	free(a);
}

/* Commits writes with the job, then settles the crawl (schema/040_crawl.sql). */
static void fetch_commit(struct fetch *f, struct pg_req *w)
{
	struct fetch_after *a = xcalloc(1, sizeof *a);
	memcpy(a->crawl_id, f->crawl_id, sizeof a->crawl_id);
	a->settle_index = w->ncalls;
	crawl_add_settle(w, f->crawl_id);
	w->cb = on_committed;
	w->arg = a;
	job_succeed_with(fetch_end(f), w);
}

static struct pg_req *writes_new(struct fetch *f)
{
	struct pg_req *w = pg_req_new(NULL, NULL);
	/* A page's result commits asynchronously: lost in a server crash, it goes with the job's completion, and
	 * the job is rescued and fetched again. */
	pg_req_addl(w, &queue_async_commit);
	pg_req_once(w);
	return w;
}

static void fetch_transient(struct fetch *f, const char *error, long http_status);

/* The claim request's statements: the commit mode, then the claim, whose result is the number claimed. */
enum { CLAIM_ASYNC_COMMIT, CLAIM_RESULT };

static void on_claimed(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	struct fetch *f = arg;
	if (crawl_job_gone(&f->job))
		return;
	struct pg_req *w = f->writes;
	f->writes = NULL;
	if (!out->ok) {
		pg_req_free(w);
		char *msg = xasprintf("fetch: claiming the page's links failed: %s", out->error);
		fetch_transient(f, msg, 0);
		free(msg);
		return;
	}
	long long crawl = strtoll(f->crawl_id, NULL, 10);
	if (pg_int(out->results[CLAIM_RESULT], 0, 0) < 0)
		crawl_seen_close(crawl);
	else
		crawl_seen_add(crawl, f->offered, f->n_offered);
	offered_done(f);
	fetch_commit(f, w);
}

/* Claims a page's links (a JSON array; NULL: none) in a transaction of its own (schema/040_crawl.sql),
 * then commits the page's result w. The claim need not be atomic with the result: a claimed link is a valid frontier entry with its
 * fetch job whatever becomes of this page, and a retried fetch offers its links again (nothing is claimed
 * twice). Committed first, the new documents are visible to the result's settle step; and kept short, the
 * claim holds the crawl row (max_pages) for one statement, not for a whole group commit. */
static void fetch_commit_links(struct fetch *f, struct pg_req *w, const char *links)
{
	if (!links) {
		fetch_commit(f, w);
		return;
	}
	f->writes = w;
	fetch_stage(f, FETCH_CLAIMING);
	struct pg_req *req = pg_req_new(on_claimed, f);
	pg_req_addl(req, &queue_async_commit);
	crawl_add_claim(req, f->crawl_id, links, f->depth + 1);
	pool_submit(worker_pool(f->job.run->worker), req);
}

/* Ends the document in a final status (skipped, failed) with a reason. */
static void fetch_final(struct fetch *f, const char *status, const char *error, long http_status,
                        const char *final_url, const char *redirects)
{
	char hs[24];
	snprintf(hs, sizeof hs, "%ld", http_status);
	log_info("fetch %s: %s: %s", f->url, status, error);
	struct pg_req *w = writes_new(f);
	pg_req_addl(w, &doc_final, f->doc_id, status, error, http_status ? hs : NULL, final_url, redirects);
	fetch_commit(f, w);
}

/* A transient failure: retried with backoff, or the document failed on the job's last attempt. */
static void fetch_transient(struct fetch *f, const char *error, long http_status)
{
	if (f->job.run->job.attempt >= f->job.run->job.max_attempts) {
		char *msg = xasprintf("%s (after %d attempts)", error, f->job.run->job.attempt);
		fetch_final(f, "failed", msg, http_status, NULL, NULL);
		free(msg);
		return;
	}
	job_fail(fetch_end(f), error, false);
}

/* The media type of a Content-Type, lower-cased, into out; guessed from the URL when absent. */
static void media_type(const char *ctype, const char *url, char *out, size_t cap)
{
	size_t n = 0;
	if (ctype) {
		while (ctype[n] == ' ')
			ctype++;
		for (; ctype[n] && ctype[n] != ';' && ctype[n] != ' ' && n + 1 < cap; n++)
			out[n] = (char)(ctype[n] >= 'A' && ctype[n] <= 'Z' ? ctype[n] + 32 : ctype[n]);
		out[n] = '\0';
		return;
	}
	const char *dot = strrchr(url, '.');
	const char *guess = dot && (strcasecmp(dot, ".md") == 0 || strcasecmp(dot, ".markdown") == 0) ? "text/markdown"
	                    : dot && strcasecmp(dot, ".txt") == 0                                   ? "text/plain"
	                                                                                           : "";
	snprintf(out, cap, "%s", guess);
}

/* Whether a 2xx body is stored for ingest; *why says why not (heap) when it is not. Text pages by their type;
 * documents (PDF, DOCX, PPTX, ODT, ODP, EPUB) by their content, when their type is a document's or a generic
 * one (application/octet-stream, a zip, none): the ingest worker extracts them in its converter child. */
static bool media_kept(const char *mt, const struct http_response *resp, char **why)
{
	enum fetch_media m = fetch_media_class(mt);
	*why = NULL;
	if (m == FETCH_MEDIA_TEXT)
		return true;
	if (m == FETCH_MEDIA_OTHER) {
		*why = xasprintf("unsupported content type \"%s\"", mt[0] ? mt : "none");
		return false;
	}
	if (doc_sniff(resp->body.data ? resp->body.data : "", resp->body.len) != DOC_FORMAT_UNKNOWN)
		return true;
	if (m == FETCH_MEDIA_GENERIC)
		*why = xasprintf("unsupported content type \"%s\": the body is no PDF, DOCX, PPTX, ODT, ODP or EPUB",
		                 mt[0] ? mt : "none");
	else
		*why = xasprintf("content type \"%s\", but the body is no PDF, DOCX, PPTX, ODT, ODP or EPUB", mt);
	return false;
}

static bool media_html(const char *mt)
{
	return strcmp(mt, "text/html") == 0 || strcmp(mt, "application/xhtml+xml") == 0;
}

/* The charset parameter of a Content-Type, copied into out ("" when none). */
static void media_charset(const char *ctype, char *out, size_t cap)
{
	out[0] = '\0';
	const char *p = ctype ? strcasestr(ctype, "charset=") : NULL;
	if (!p)
		return;
	p += 8;
	if (*p == '"')
		p++;
	size_t n = 0;
	while (p[n] && p[n] != ';' && p[n] != '"' && p[n] != ' ' && n + 1 < cap) {
		out[n] = p[n];
		n++;
	}
	out[n] = '\0';
}

/* The in-scope links of links_from_* output that this process does not know the crawl holds, as a JSON
 * array (NULL when none are to be offered); their hashes go to f->offered. */
static char *links_json(struct fetch *f, struct links *l)
{
	json_t *arr = json_array();
	long long crawl = strtoll(f->crawl_id, NULL, 10);
	offered_done(f);
	free(f->offered);
	f->offered = xcalloc(l->n + 1, sizeof *f->offered);
	if (l->skipped_long) /* the page is kept; only those links are lost, and the log says so */
		log_info("fetch %s: %zu links longer than %d bytes skipped", f->url, l->skipped_long, URL_STORE_MAX_LEN);
	if (f->depth < f->opts.max_depth)
		for (size_t i = 0; i < l->n; i++) {
			uint64_t h = crawl_seen_hash(l->urls[i]);
			if (!crawl_seen_has(crawl, h) && crawl_in_scope(&f->opts, f->root_host, l->urls[i]) &&
			    crawl_seen_pending_add(crawl, h)) {
				json_array_append_new(arr, json_string(l->urls[i]));
				f->offered[f->n_offered++] = h;
			}
		}
	links_free(l);
	char *s = json_array_size(arr) ? json_dumps(arr, JSON_COMPACT) : NULL;
	json_decref(arr);
	return s;
}

/* The links of an HTML body (NULL for other types or when none are followed). Sets *noindex. */
static char *html_links(struct fetch *f, const char *body, size_t len, const char *base, const char *ctype,
                        const char *mt, bool *noindex)
{
	*noindex = false;
	if (!media_html(mt))
		return NULL;
	char charset[64];
	media_charset(ctype, charset, sizeof charset);
	struct links l = {0};
	if (links_from_html(body ? body : "", len, base, charset[0] ? charset : NULL, 0, &l) != 0) {
		links_free(&l);
		return NULL;
	}
	*noindex = l.noindex;
	return links_json(f, &l);
}

static char *page_links(struct fetch *f, const struct http_response *resp, const char *mt, bool *noindex)
{
	return html_links(f, resp->body.data, resp->body.len, resp->effective_url, resp->content_type, mt, noindex);
}

static void store_page(struct fetch *f, struct http_response *resp, const char *mt, const char *final_url,
                       const char *redirects)
{
	bool noindex;
	char *links = page_links(f, resp, mt, &noindex);
	char hash[HASH_HEX_LEN + 1], hs[16];
	hash_sha256_hex(resp->body.data ? resp->body.data : "", resp->body.len, hash);
	snprintf(hs, sizeof hs, "%ld", resp->status);
	struct pg_req *w = writes_new(f);
	if (noindex) {
		pg_req_addl(w, &doc_final, f->doc_id, "skipped", "the page asks not to be indexed (meta robots noindex)",
		            hs, final_url, redirects);
	} else if (f->old_hash && strcmp(f->old_hash, hash) == 0) {
		pg_req_addl(w, &doc_unchanged, f->doc_id, hs, resp->etag, resp->last_modified, final_url, redirects);
	} else {
		pg_req_addl(w, &doc_store, f->doc_id, NULL, resp->content_type ? resp->content_type : mt, hs, resp->etag,
		            resp->last_modified, hash, final_url, redirects);
		pg_req_bytes(w, 1, resp->body.data ? resp->body.data : "", resp->body.len);
		pg_req_row(w);
	}
	fetch_commit_links(f, w, links);
	free(links);
}

/* 304: the page's links come from what was stored at the last fetch: the body while it awaits ingest, else
 * the ingested Markdown (archon_page_metadata.full_content). */
static const struct pg_stmt doc_body_load = {
	"pgkb_fetch_body",
	"SELECT d.body, d.content_type, p.full_content FROM pgkb.documents d"
	"  LEFT JOIN public.archon_page_metadata p ON p.url = d.url WHERE d.id = $1::bigint",
	1,
};
enum { STORED_BODY, STORED_CONTENT_TYPE, STORED_MARKDOWN };

static char *stored_links(struct fetch *f, const PGresult *res)
{
	const char *body = pg_value(res, 0, STORED_BODY), *ctype = pg_value(res, 0, STORED_CONTENT_TYPE),
	           *md = pg_value(res, 0, STORED_MARKDOWN);
	const char *base = f->nm_final ? f->nm_final : f->url;
	if (body) {
		char mt[128];
		media_type(ctype, f->url, mt, sizeof mt);
		size_t len;
		char *raw = pg_bytea_decode(body, &len);
		if (!raw)
			return NULL; /* not hex output: no links to offer (ingest fails the document for it) */
		bool noindex;
		char *js = html_links(f, raw, len, base, ctype, mt, &noindex);
		free(raw);
		return js;
	}
	struct links l = {0};
	if (!md || links_from_llms_txt(md, strlen(md), base, 0, &l) != 0) {
		links_free(&l);
		return NULL;
	}
	return links_json(f, &l);
}

static void on_stored_body(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	struct fetch *f = arg;
	if (crawl_job_gone(&f->job))
		return;
	if (!out->ok || PQntuples(out->results[0]) != 1) {
		fetch_transient(f, out->ok ? "fetch: the document vanished" : out->error, 0);
		return;
	}
	char *links = stored_links(f, out->results[0]);
	struct pg_req *w = writes_new(f);
	pg_req_addl(w, &doc_unchanged, f->doc_id, "304", f->nm_etag, f->nm_lastmod, f->nm_final, f->nm_redirects);
	log_info("fetch %s: not modified", f->url);
	fetch_commit_links(f, w, links);
	free(links);
}

static void not_modified(struct fetch *f, const struct http_response *resp, const char *final_url,
                         const char *redirects)
{
	f->nm_etag = dup_or_null(resp->etag);
	f->nm_lastmod = dup_or_null(resp->last_modified);
	f->nm_final = dup_or_null(final_url);
	f->nm_redirects = dup_or_null(redirects);
	fetch_stage(f, FETCH_READING_BODY);
	struct pg_req *req = pg_req_new(on_stored_body, f);
	pg_req_addl(req, &doc_body_load, f->doc_id);
	pool_submit(worker_pool(f->job.run->worker), req);
}

static void store_gone(struct fetch *f, long status)
{
	char hs[24], *err = xasprintf("HTTP %ld", status);
	snprintf(hs, sizeof hs, "%ld", status);
	log_info("fetch %s: gone (%s)", f->url, err);
	struct pg_req *w = writes_new(f);
	pg_req_addl(w, &doc_gone, f->doc_id, err, hs);
	pg_req_addl(w, &gone_chunks, f->url, f->doc_id);
	pg_req_addl(w, &gone_code, f->url, f->doc_id);
	pg_req_addl(w, &gone_page, f->url, f->doc_id);
	free(err);
	fetch_commit(f, w);
}

/* The redirect chain as a JSON array (NULL when none); logs it. */
static char *redirect_chain(const struct fetch *f, const struct http_response *resp)
{
	if (!resp->n_redirects)
		return NULL;
	json_t *arr = json_array();
	struct buf msg = BUF_INIT;
	for (size_t i = 0; i < resp->n_redirects; i++) {
		json_array_append_new(arr, json_string(resp->redirects[i]));
		buf_printf(&msg, "%s -> ", resp->redirects[i]);
	}
	log_info("fetch %s: redirected: %s%s", f->url, buf_str(&msg), resp->effective_url ? resp->effective_url : "?");
	buf_free(&msg);
	char *s = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return s;
}

static void on_response(struct http_response *resp, void *arg)
{
	struct fetch *f = arg;
	f->job.preq = NULL;
	if (!resp) {
		fetch_transient(f, "fetch: host politeness wait too long or database unreachable; retrying later", 0);
		return;
	}
	char *redirects = redirect_chain(f, resp);
	const char *final_url = redirects ? resp->effective_url : NULL;
	if (final_url && strlen(final_url) > URL_STORE_MAX_LEN) {
		char *msg = xasprintf("fetch: redirected to a URL of %zu bytes; the limit is %d", strlen(final_url),
		                      URL_STORE_MAX_LEN);
		fetch_final(f, "failed", msg, resp->status, NULL, NULL);
		free(msg);
		free(redirects);
		return;
	}
	if (resp->error_kind != HTTP_OK) {
		char *msg = xasprintf("fetch: %s: %s", http_error_name(resp->error_kind), resp->error);
		switch (resp->error_kind) {
		case HTTP_ERR_TOO_LARGE: /* name the bound: it depends on the type */
			free(msg);
			msg = xasprintf("fetch: %s: %s, the bound of %s for its type", http_error_name(resp->error_kind),
			                resp->error, fetch_media_cap_key(resp->content_type));
			fetch_final(f, "failed", msg, resp->status, final_url, redirects);
			break;
		case HTTP_ERR_PRIVATE:
		case HTTP_ERR_URL:
		case HTTP_ERR_REDIRECTS:
			fetch_final(f, "failed", msg, resp->status, final_url, redirects);
			break;
		default:
			fetch_transient(f, msg, 0);
		}
		free(msg);
		free(redirects);
		return;
	}
	long st = resp->status;
	char mt[128];
	media_type(resp->content_type, f->url, mt, sizeof mt);
	char *unkept = NULL;
	if (st >= 200 && st < 300 && media_kept(mt, resp, &unkept)) {
		store_page(f, resp, mt, final_url, redirects);
	} else if (st >= 200 && st < 300) {
		fetch_final(f, "skipped", unkept, st, final_url, redirects);
		free(unkept);
	} else if (st == 304 && f->conditional) {
		not_modified(f, resp, final_url, redirects);
	} else if (st == 404 || st == 410) {
		store_gone(f, st);
	} else {
		char *msg = xasprintf("HTTP %ld", st);
		if (st == 429 || st >= 500)
			fetch_transient(f, msg, st);
		else
			fetch_final(f, "failed", msg, st, final_url, redirects);
		free(msg);
	}
	free(redirects);
}

static void fetch_get(struct fetch *f)
{
	char *hdr[3] = {NULL, NULL, NULL};
	int n = 0;
	if (f->etag)
		hdr[n++] = xasprintf("If-None-Match: %s", f->etag);
	if (f->last_modified)
		hdr[n++] = xasprintf("If-Modified-Since: %s", f->last_modified);
	f->conditional = n > 0;
	fetch_stage(f, FETCH_GETTING);
	f->job.preq = polite_get(f->url, (const char *const *)hdr, on_response, f);
	for (int i = 0; i < n; i++)
		free(hdr[i]);
	if (!f->job.preq)
		fetch_final(f, "failed", "fetch: not a valid http(s) URL", 0, NULL, NULL);
}

static void on_robots(const struct robots *rules, void *arg)
{
	struct fetch *f = arg;
	f->job.rwait = NULL;
	char *pq = url_path_query(f->url);
	bool allowed = robots_allowed(rules, pq);
	free(pq);
	if (allowed)
		fetch_get(f);
	else if (robots_unreachable(rules))
		fetch_transient(f, "robots.txt unreachable (server error or network failure); retrying later", 0);
	else
		fetch_final(f, "skipped", "disallowed by robots.txt", 0, NULL, NULL);
}

/* Row row of res (row < 0: none) is f's document and crawl. */
static void fetch_loaded(struct fetch *f, const PGresult *res, int row)
{
	if (row < 0 || strcmp(pg_value(res, row, LOAD_DOC_STATUS), "queued") != 0 ||
	    strcmp(pg_value(res, row, LOAD_CRAWL_STATUS), "running") != 0) {
		log_debug("fetch %s: nothing to do (document claimed elsewhere, already fetched, or crawl ended)", f->url);
		job_succeed(fetch_end(f));
		return;
	}
	f->doc_id = xstrdup(pg_value(res, row, LOAD_DOC_ID));
	f->etag = dup_or_null(pg_value(res, row, LOAD_ETAG));
	f->last_modified = dup_or_null(pg_value(res, row, LOAD_LAST_MODIFIED));
	f->old_hash = dup_or_null(pg_value(res, row, LOAD_CONTENT_HASH));
	f->root_host = url_host(pg_value(res, row, LOAD_ROOT_URL));
	char *err = crawl_opts_parse(pg_value(res, row, LOAD_CRAWL_OPTIONS), &f->opts);
	if (err || !f->root_host) {
		fetch_final(f, "failed", err ? err : "fetch: the crawl's root URL is invalid", 0, NULL, NULL);
		free(err);
		return;
	}
	fetch_stage(f, FETCH_ROBOTS);
	robots_lookup(f->url, on_robots, f, &f->job.rwait);
}

/* This loop iteration's batched requests: the document loads of the fetch jobs that started, and the crawls
 * to settle again (one settle per crawl for all the fetches of a group commit). */
static struct {
	struct fetch **items; /* the document loads */
	size_t n, cap;
	long long *rechecks;
	size_t n_rechecks, cap_rechecks;
	ev_prepare flush;
	struct worker *w;
} pending;

static void on_loaded(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	struct fetch **items = arg;
	size_t n = 0;
	while (items[n])
		n++;
	int *row = xmalloc((n + 1) * sizeof *row);
	for (size_t i = 0; i < n; i++)
		row[i] = -1;
	for (int r = 0; out->ok && r < PQntuples(out->results[0]); r++) {
		long long i = pg_int(out->results[0], r, LOAD_INDEX);
		if (i >= 0 && (size_t)i < n)
			row[i] = r;
	}
	for (size_t i = 0; i < n; i++) {
		struct fetch *f = items[i];
		if (crawl_job_gone(&f->job))
			continue;
		if (!out->ok)
			job_fail(fetch_end(f), out->error, false);
		else
			fetch_loaded(f, out->results[0], row[i]);
	}
	free(row);
	free(items);
}

static void flush_rechecks(void)
{
	for (size_t i = 0; i < pending.n_rechecks; i++) {
		char id[24];
		snprintf(id, sizeof id, "%lld", pending.rechecks[i]);
		struct pg_req *s = pg_req_new(on_settled, xstrdup(id));
		crawl_add_settle(s, id);
		pool_submit(worker_pool(pending.w), s);
	}
	pending.n_rechecks = 0;
}

static void on_iteration_end(struct ev_loop *loop, ev_prepare *p, int revents)
{
	ev_prepare_stop(loop, p);
	flush_rechecks();
	if (!pending.n)
		return;
	json_t *arr = json_array();
	for (size_t i = 0; i < pending.n; i++)
		json_array_append_new(arr, json_pack("{s:I, s:s, s:s}", "i", (json_int_t)i, "c", pending.items[i]->crawl_id,
		                                     "u", pending.items[i]->url));
	char *js = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	struct fetch **items = xrealloc(pending.items, (pending.n + 1) * sizeof *items);
	items[pending.n] = NULL;
	pending.items = NULL;
	pending.n = pending.cap = 0;
	struct pg_req *req = pg_req_new(on_loaded, items);
	pg_req_addl(req, &doc_load, js);
	free(js);
	pool_submit_first(worker_pool(pending.w), req);
}

/* Settles crawl again at the end of this loop iteration, after the commit that asked for it. */
static void recheck_later(long long crawl)
{
	for (size_t i = 0; i < pending.n_rechecks; i++)
		if (pending.rechecks[i] == crawl)
			return;
	if (pending.n_rechecks == pending.cap_rechecks) {
		pending.cap_rechecks = pending.cap_rechecks ? 2 * pending.cap_rechecks : 8;
		pending.rechecks = xrealloc(pending.rechecks, pending.cap_rechecks * sizeof *pending.rechecks);
	}
	pending.rechecks[pending.n_rechecks++] = crawl;
	if (!ev_is_active(&pending.flush))
		ev_prepare_start(worker_loop(pending.w), &pending.flush);
}

/* Queues f's document load for the end of this loop iteration. */
static void load_document(struct fetch *f)
{
	if (pending.n == pending.cap) {
		pending.cap = pending.cap ? 2 * pending.cap : 64;
		pending.items = xrealloc(pending.items, pending.cap * sizeof *pending.items);
	}
	pending.items[pending.n++] = f;
	fetch_stage(f, FETCH_LOADING);
	if (!ev_is_active(&pending.flush))
		ev_prepare_start(worker_loop(pending.w), &pending.flush);
}

/* Reads the payload; returns NULL or a heap error message. */
static char *fetch_parse(const char *payload, struct fetch *f)
{
	char *err;
	json_t *root = payload_object("fetch", payload, &err);
	json_t *cid = json_object_get(root, "crawl_id"), *u = json_object_get(root, "url"),
	       *d = json_object_get(root, "depth");
	if (err) /* the payload is no JSON object: err says why */
		(void)0;
	else if (!json_is_integer(cid) || json_integer_value(cid) <= 0)
		err = xasprintf("fetch: \"crawl_id\" must be a positive integer");
	else if (!json_is_string(u) || !(f->url = url_canonical(json_string_value(u))))
		err = xasprintf("fetch: \"url\" must be an absolute http(s) URL");
	else if (strlen(f->url) > URL_STORE_MAX_LEN)
		err = xasprintf("fetch: \"url\" is %zu bytes long; the limit is %d", strlen(f->url), URL_STORE_MAX_LEN);
	else if (d && (!json_is_integer(d) || json_integer_value(d) < 0 || json_integer_value(d) > 1000000))
		err = xasprintf("fetch: \"depth\" must be a non-negative integer");
	if (!err) {
		snprintf(f->crawl_id, sizeof f->crawl_id, "%lld", (long long)json_integer_value(cid));
		f->depth = d ? (int)json_integer_value(d) : 0;
	}
	json_decref(root);
	return err;
}

static void fetch_run(struct job_run *r)
{
	struct fetch *f = xcalloc(1, sizeof *f);
	crawl_job_init(&f->job, &fetch_kind, r);
	char *err = fetch_parse(r->job.payload, f);
	if (err) {
		fetch_free(&f->job);
		job_fail(r, err, true);
		free(err);
		return;
	}
	r->state = f;
	load_document(f);
}

static void on_swept(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	if (!out->ok)
		log_warn("crawl sweep failed: %s", out->error);
	else if (pg_int(out->results[0], 0, 0) > 0)
		log_info("crawl sweep ended %lld crawl(s)", pg_int(out->results[0], 0, 0));
}

/* Now and then: end the crawls that nothing is left to settle (schema/040_crawl.sql). */
static void on_sweep_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = t->data;
	if (pool_pending(worker_pool(w)) > 0 && pool_connected(worker_pool(w)) == 0)
		return; /* the database is away: requests are piling up already */
	struct pg_req *req = pg_req_new(on_swept, NULL);
	pg_req_addl(req, &crawl_sweep);
	pool_submit(worker_pool(w), req);
}

static int fetch_start(struct worker *w)
{
	pending.w = w;
	ev_prepare_init(&pending.flush, on_iteration_end);
	ev_timer_init(&sweep_timer, on_sweep_timer, SWEEP_INTERVAL_S, SWEEP_INTERVAL_S);
	sweep_timer.data = w;
	ev_timer_start(worker_loop(w), &sweep_timer);
	return polite_start(w);
}

static void fetch_stop(struct worker *w)
{
	ev_timer_stop(worker_loop(w), &sweep_timer);
	ev_prepare_stop(worker_loop(w), &pending.flush);
	for (size_t i = 0; i < pending.n; i++) /* never sent: abandoned with their runs */
		fetch_free(&pending.items[i]->job);
	free(pending.items);
	pending.items = NULL;
	pending.n = pending.cap = 0;
	free(pending.rechecks);
	pending.rechecks = NULL;
	pending.n_rechecks = pending.cap_rechecks = 0;
	crawl_seen_clear();
	polite_stop(w);
}

const struct handler fetch_handler = {
	.kind = "fetch", .run = fetch_run, .abandon = crawl_job_abandon, .start = fetch_start, .stop = fetch_stop};
