/* The crawl job: source and crawl rows, then discovery (robots.txt, sitemaps, llms.txt) and the seed URLs'
 * fetch jobs, claimed in the job's fenced result transaction.
 * Discovery reads what other people's servers send, so all of it is bounded (crawl.sitemap_* and
 * crawl.discovery_* keys): files fetched, index levels, entries per file, URLs kept, wall time. A sitemap is read
 * in slices, one per loop iteration, so the worker keeps renewing leases and running other jobs meanwhile. When
 * a bound cuts the discovery short, what was found within it is crawled and pgkb.crawls.discovery_stopped says
 * which bound. */
#include <ev.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "workers/crawl/crawl.h"
#include "workers/crawl/crawl_job.h"
#include "workers/crawl/fetch_politeness.h"
#include "lib/crawl/urlglob.h"
#include "lib/crawl/links.h"
#include "lib/util/log.h"
#include "lib/util/mem.h"
#include "lib/util/payload.h"
#include "lib/pg/pgpool.h"
#include "lib/crawl/sitemap.h"
#include "lib/crawl/url.h"
#include "lib/crawl/urlset.h"
#include "lib/util/buf.h"

#define CRAWL_MAX_ROBOTS_DELAY_MS 120000
#define DISC_SLICE_ENTRIES 1000 /* sitemap entries offered per loop iteration */

enum disc_kind { DISC_SITEMAP, DISC_LLMS, DISC_LLMS_FULL };

struct disc {
	char *url;
	enum disc_kind kind;
	int level;
	struct disc *next;
};

struct seed {
	char *url;
	time_t lastmod;
	size_t order;
};

/* Where a crawl job is. */
enum crawl_stage {
	CRAWL_PARSED,      /* payload read */
	CRAWL_SETUP,       /* its source and crawl rows: upserted */
	CRAWL_ROBOTS,      /* waiting for the origin's robots.txt (its sitemaps and Crawl-delay) */
	CRAWL_DISCOVERING, /* fetching sitemaps and llms.txt, one at a time */
	CRAWL_PARSING,     /* reading a sitemap in slices, one per loop iteration */
	CRAWL_SEED_ROBOTS, /* waiting for robots.txt again, to filter the seeds */
	CRAWL_DONE,        /* ended: the seeds' fetch jobs commit with the completion */
	CRAWL_ABANDONED,   /* handed back while a database request was in flight; its callback frees it */
	CRAWL_STAGES
};

static const char *const crawl_stage_names[CRAWL_STAGES] = {
	"parsed", "setup", "robots", "discovering", "parsing", "seed robots", "done", "abandoned"};
static const unsigned crawl_next[CRAWL_STAGES] = {
	[CRAWL_PARSED] = STAGE_BIT(CRAWL_SETUP),
	[CRAWL_SETUP] = STAGE_BIT(CRAWL_ROBOTS) | STAGE_BIT(CRAWL_DONE) | STAGE_BIT(CRAWL_ABANDONED),
	[CRAWL_ROBOTS] = STAGE_BIT(CRAWL_DISCOVERING) | STAGE_BIT(CRAWL_DONE) | STAGE_BIT(CRAWL_ABANDONED),
	[CRAWL_DISCOVERING] = STAGE_BIT(CRAWL_PARSING) | STAGE_BIT(CRAWL_SEED_ROBOTS) | STAGE_BIT(CRAWL_ABANDONED),
	[CRAWL_PARSING] = STAGE_BIT(CRAWL_DISCOVERING) | STAGE_BIT(CRAWL_ABANDONED),
	[CRAWL_SEED_ROBOTS] = STAGE_BIT(CRAWL_DONE) | STAGE_BIT(CRAWL_ABANDONED),
};
static const enum crawl_wait crawl_waits[CRAWL_STAGES] = {
	[CRAWL_SETUP] = CRAWL_WAIT_DB,          [CRAWL_ROBOTS] = CRAWL_WAIT_ROBOTS,
	[CRAWL_DISCOVERING] = CRAWL_WAIT_HTTP, [CRAWL_SEED_ROBOTS] = CRAWL_WAIT_ROBOTS,
};

static void crawl_free(struct crawl_job *j);

static const struct crawl_job_kind crawl_kind = {
	{"crawl", CRAWL_STAGES, crawl_stage_names, crawl_next}, crawl_waits, CRAWL_DONE, CRAWL_ABANDONED, crawl_free,
};

struct crawl {
	struct crawl_job job; /* first: the run, the stage and what the stage waits on */
	char *url, *root_host, *origin, *source_id, *options, *source_meta;
	char crawl_id[24];
	struct crawl_opts opts;
	long long robots_delay_ms; /* -1: none */
	struct disc *todo, *todo_tail;
	/* discovery and its bounds */
	struct ev_loop *loop;
	int sitemaps_queued;          /* counts against crawl.sitemap_max_files */
	long long max_urls;           /* crawl.discovery_max_urls, at most max_pages */
	ev_tstamp deadline;           /* crawl.discovery_timeout */
	struct urlset disc_seen;      /* sitemaps and llms.txt files queued already */
	struct urlset seed_seen;      /* seeds taken already */
	struct sitemap_reader *reader; /* the sitemap being read (c->todo, stage parsing) */
	ev_timer slice;               /* the next slice of it */
	size_t file_entries;          /* entries read from it so far */
	size_t skipped_long;          /* discovered URLs over URL_STORE_MAX_LEN */
	unsigned bounds_hit;          /* bits of enum disc_bound */
	struct buf stopped;           /* the bounds hit, for pgkb.crawls.discovery_stopped */
	struct seed *top, *deep;      /* depth 0 and depth 1 seeds */
	size_t n_top, n_deep, cap_top, cap_deep;
};

/* The bounds of a discovery, by configuration key. */
enum disc_bound { B_FILES, B_DEPTH, B_ENTRIES, B_URLS, B_TIME };
static const char *const bound_keys[] = {"crawl.sitemap_max_files", "crawl.sitemap_max_depth",
                                         "crawl.sitemap_max_entries", "crawl.discovery_max_urls",
                                         "crawl.discovery_timeout"};

static const struct pg_stmt source_upsert = {
	"pgkb_crawl_source",
	"INSERT INTO public.archon_sources (source_id, source_url, source_display_name, metadata)"
	" VALUES ($1, $2, $3, $4::jsonb)"
	" ON CONFLICT (source_id) DO UPDATE SET source_url = EXCLUDED.source_url,"
	"   source_display_name = EXCLUDED.source_display_name,"
	"   metadata = coalesce(public.archon_sources.metadata, '{}'::jsonb) || EXCLUDED.metadata",
	4,
};
static const struct pg_stmt crawl_upsert = {
	"pgkb_crawl_upsert",
	"INSERT INTO pgkb.crawls (source_id, root_url, options, job_id) VALUES ($1, $2, $3::jsonb, $4::bigint)"
	" ON CONFLICT (job_id) DO UPDATE SET status = 'running', finished_at = NULL RETURNING id",
	4,
};
/* The setup request's statements: the source, then the crawl (its result: the crawl's id). */
enum { SETUP_SOURCE, SETUP_CRAWL };
static const struct pg_stmt stmt_lock = {"pgkb_crawl_lock", "SELECT pgkb.crawl_lock($1::bigint)", 1};
static const struct pg_stmt stmt_claim = {
	"pgkb_crawl_claim", "SELECT pgkb.crawl_claim($1::bigint, $2::jsonb, $3::int)", 3};
static const struct pg_stmt stmt_finish = {"pgkb_crawl_finish", "SELECT pgkb.crawl_finish_if_done($1::bigint)", 1};
static const struct pg_stmt stmt_settle = {"pgkb_crawl_settle", "SELECT pgkb.crawl_settle($1::bigint)", 1};
static const struct pg_stmt stmt_stopped = {
	"pgkb_crawl_discovery_stopped", "UPDATE pgkb.crawls SET discovery_stopped = $2 WHERE id = $1::bigint", 2};
static const struct pg_stmt robots_delay_upsert = {
	"pgkb_crawl_robots_delay",
	"INSERT INTO pgkb.host_politeness (host, robots_delay_ms) VALUES ($1, $2::int)"
	" ON CONFLICT (host) DO UPDATE SET robots_delay_ms = EXCLUDED.robots_delay_ms, updated_at = now()",
	2,
};

void crawl_add_lock(struct pg_req *w, const char *crawl_id)
{
	pg_req_addl(w, &stmt_lock, crawl_id);
}

void crawl_add_claim(struct pg_req *w, const char *crawl_id, const char *urls_json, int depth)
{
	char d[16];
	snprintf(d, sizeof d, "%d", depth);
	pg_req_addl(w, &stmt_claim, crawl_id, urls_json, d);
}

void crawl_add_finish(struct pg_req *w, const char *crawl_id)
{
	pg_req_addl(w, &stmt_finish, crawl_id);
}

void crawl_add_settle(struct pg_req *w, const char *crawl_id)
{
	pg_req_addl(w, &stmt_settle, crawl_id);
	pg_req_once(w); /* after all of a group commit's writes */
}

/* ---- options ---- */

static char *parse_globs(json_t *root, const char *key, char ***out, size_t *n)
{
	json_t *v = json_object_get(root, key);
	*out = xcalloc(1, sizeof **out);
	*n = 0;
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_array(v))
		return xasprintf("crawl: \"%s\" must be an array of glob patterns", key);
	*out = xrealloc(*out, (json_array_size(v) + 1) * sizeof **out);
	size_t i;
	json_t *e;
	json_array_foreach (v, i, e) {
		if (!json_is_string(e) || !json_string_length(e)) {
			(*out)[*n] = NULL;
			return xasprintf("crawl: \"%s\" must be an array of non-empty strings", key);
		}
		(*out)[(*n)++] = xstrdup(json_string_value(e));
	}
	(*out)[*n] = NULL;
	return NULL;
}

static char *parse_limit(json_t *root, const char *key, long long max, long long def, long long *out)
{
	json_t *v = json_object_get(root, key);
	*out = def;
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
		return xasprintf("crawl: \"%s\" must be an integer from 0 to %lld", key, max);
	*out = json_integer_value(v);
	return NULL;
}

char *crawl_opts_parse(const char *json, struct crawl_opts *o)
{
	memset(o, 0, sizeof *o);
	char *err;
	json_t *root = payload_object("crawl", json, &err);
	if (!root) {
		o->include = xcalloc(1, sizeof *o->include);
		o->exclude = xcalloc(1, sizeof *o->exclude);
		return err;
	}
	long long depth;
	err = parse_limit(root, "max_depth", 1000, CRAWL_DEFAULT_MAX_DEPTH, &depth);
	o->max_depth = (int)depth;
	char *e2 = parse_limit(root, "max_pages", 100000000, CRAWL_DEFAULT_MAX_PAGES, &o->max_pages);
	char *e3 = parse_globs(root, "include", &o->include, &o->n_include);
	char *e4 = parse_globs(root, "exclude", &o->exclude, &o->n_exclude);
	json_decref(root);
	char *first = err ? err : e2 ? e2 : e3 ? e3 : e4;
	if (first != err)
		free(err);
	if (first != e2)
		free(e2);
	if (first != e3)
		free(e3);
	if (first != e4)
		free(e4);
	return first;
}

void crawl_opts_free(struct crawl_opts *o)
{
	for (size_t i = 0; o->include && i < o->n_include; i++)
		free(o->include[i]);
	for (size_t i = 0; o->exclude && i < o->n_exclude; i++)
		free(o->exclude[i]);
	free(o->include);
	free(o->exclude);
	memset(o, 0, sizeof *o);
}

bool crawl_in_scope(const struct crawl_opts *o, const char *root_host, const char *url)
{
	char *host = url_host(url);
	bool ok = host && strcmp(host, root_host) == 0 &&
	          glob_url_allowed((const char *const *)o->include, o->n_include, (const char *const *)o->exclude,
	                           o->n_exclude, url);
	free(host);
	return ok;
}

/* ---- state ---- */

static void seeds_free(struct seed *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].url);
	free(s);
}

/* Drops what is left to discover (a bound that ends the whole discovery was hit). */
static void disc_drop_todo(struct crawl *c)
{
	while (c->todo) {
		struct disc *d = c->todo;
		c->todo = d->next;
		free(d->url);
		free(d);
	}
	c->todo_tail = NULL;
}

static void crawl_free(struct crawl_job *j)
{
	struct crawl *c = (struct crawl *)j;
	free(c->url);
	free(c->root_host);
	free(c->origin);
	free(c->source_id);
	free(c->options);
	free(c->source_meta);
	crawl_opts_free(&c->opts);
	disc_drop_todo(c);
	if (c->loop)
		ev_timer_stop(c->loop, &c->slice);
	sitemap_reader_free(c->reader);
	urlset_free(&c->disc_seen);
	urlset_free(&c->seed_seen);
	buf_free(&c->stopped);
	seeds_free(c->top, c->n_top);
	seeds_free(c->deep, c->n_deep);
	free(c);
}

static void crawl_stage(struct crawl *c, enum crawl_stage to)
{
	crawl_job_stage(&c->job, to);
}

/* Ends c's stages and frees c; returns the run for the call that finishes it. */
static struct job_run *crawl_end(struct crawl *c)
{
	return crawl_job_end(&c->job);
}

/* Records that bound b cut the discovery (once per bound), with what it cut. */
static void disc_bound(struct crawl *c, enum disc_bound b, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void disc_bound(struct crawl *c, enum disc_bound b, const char *fmt, ...)
{
	if (c->bounds_hit & (1u << b))
		return;
	c->bounds_hit |= 1u << b;
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	buf_printf(&c->stopped, "%s%s: %s", c->stopped.len ? "; " : "", bound_keys[b], what);
	log_warn("crawl %s: discovery bounded by %s: %s", c->crawl_id, bound_keys[b], what);
}

/* Takes url as a seed; returns false when the discovery takes no more URLs. Depth 1 seeds (found by discovery)
 * count against max_urls; the crawl's own URL does not. */
static bool seed_add(struct crawl *c, bool top, const char *url, time_t lastmod)
{
	if (!top && (long long)c->n_deep >= c->max_urls) {
		disc_bound(c, B_URLS, "%lld URLs taken from sitemaps and llms.txt; the rest were left out", c->max_urls);
		return false;
	}
	if (!crawl_in_scope(&c->opts, c->root_host, url) || !urlset_add(&c->seed_seen, url))
		return true;
	struct seed **v = top ? &c->top : &c->deep;
	size_t *n = top ? &c->n_top : &c->n_deep, *cap = top ? &c->cap_top : &c->cap_deep;
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		*v = xrealloc(*v, *cap * sizeof **v);
	}
	(*v)[*n] = (struct seed){xstrdup(url), lastmod, *n};
	(*n)++;
	return true;
}

/* Queues a sitemap or llms.txt to fetch, once; returns false when no more sitemaps may be queued. */
static bool disc_add(struct crawl *c, const char *url, enum disc_kind kind, int level)
{
	const struct cfg *cfg = worker_cfg(c->job.run->worker);
	if (kind == DISC_SITEMAP && level > cfg->sitemap_max_depth) {
		disc_bound(c, B_DEPTH, "sitemap indexes nested deeper than %d levels were not followed",
		           cfg->sitemap_max_depth);
		return true;
	}
	if (urlset_has(&c->disc_seen, url))
		return true;
	if (kind == DISC_SITEMAP && c->sitemaps_queued >= cfg->sitemap_max_files) {
		disc_bound(c, B_FILES, "at most %d sitemap files per crawl; more were listed (first left out: %.200s)",
		           cfg->sitemap_max_files, url);
		return false;
	}
	urlset_add(&c->disc_seen, url);
	if (kind == DISC_SITEMAP)
		c->sitemaps_queued++;
	struct disc *d = xcalloc(1, sizeof *d);
	*d = (struct disc){xstrdup(url), kind, level, NULL};
	if (c->todo_tail)
		c->todo_tail->next = d;
	else
		c->todo = d;
	c->todo_tail = d;
	return true;
}

/* ---- the result transaction ---- */

/* Newest lastmod first (entries without one after), then discovery order. */
static int seed_cmp(const void *a, const void *b)
{
	const struct seed *x = a, *y = b;
	if (x->lastmod != y->lastmod)
		return x->lastmod > y->lastmod ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* The seeds that robots.txt allows, as a JSON array (NULL when none). */
static char *seeds_json(struct seed *s, size_t n, const struct robots *rules)
{
	if (n > 1)
		qsort(s, n, sizeof *s, seed_cmp);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		char *pq = url_path_query(s[i].url);
		if (robots_allowed(rules, pq))
			json_array_append_new(arr, json_string(s[i].url));
		free(pq);
	}
	char *js = json_array_size(arr) ? json_dumps(arr, JSON_COMPACT) : NULL;
	json_decref(arr);
	return js;
}

/* RFC 9309: robots.txt that stayed unreachable for crawl.robots_retry_for means crawl nothing. The job fails
 * with the reason, and the crawl with it (crawl_sweep, schema/065_crawl_unlocked.sql), instead of ending
 * "done" with no document and no word. Returns true when it did. */
static bool robots_failed(struct crawl *c, const struct robots *rules)
{
	if (!robots_unreachable(rules))
		return false;
	const char *why = robots_reason(rules);
	job_fail(crawl_end(c), why ? why : "robots.txt unreachable", true);
	return true;
}

static void on_final_robots(const struct robots *rules, void *arg)
{
	struct crawl *c = arg;
	c->job.rwait = NULL;
	if (robots_failed(c, rules))
		return;
	struct pg_req *w = pg_req_new(NULL, NULL);
	crawl_add_lock(w, c->crawl_id);
	char delay[24];
	snprintf(delay, sizeof delay, "%lld", c->robots_delay_ms);
	pg_req_addl(w, &robots_delay_upsert, c->root_host, c->robots_delay_ms >= 0 ? delay : NULL);
	char *top = seeds_json(c->top, c->n_top, rules);
	char *deep = c->opts.max_depth >= 1 ? seeds_json(c->deep, c->n_deep, rules) : NULL;
	if (top)
		crawl_add_claim(w, c->crawl_id, top, 0);
	if (deep)
		crawl_add_claim(w, c->crawl_id, deep, 1);
	if (c->stopped.len)
		pg_req_addl(w, &stmt_stopped, c->crawl_id, buf_str(&c->stopped));
	crawl_add_finish(w, c->crawl_id);
	log_info("crawl %s (%s): %zu seeds at depth 0, %zu from sitemaps and llms.txt, robots.txt Crawl-delay %lld ms"
	         "%s%s",
	         c->crawl_id, c->url, c->n_top, c->n_deep, c->robots_delay_ms, c->stopped.len ? "; discovery cut by " : "",
	         c->stopped.len ? buf_str(&c->stopped) : "");
	if (c->skipped_long)
		log_info("crawl %s: %zu discovered URLs longer than %d bytes skipped", c->crawl_id, c->skipped_long,
		         URL_STORE_MAX_LEN);
	free(top);
	free(deep);
	job_succeed_with(crawl_end(c), w);
}

/* ---- discovery ---- */

static void disc_next(struct crawl *c);

static bool body_is_html(const struct http_response *resp)
{
	const char *ct = resp->content_type;
	return ct && (strncasecmp(ct, "text/html", 9) == 0 || strncasecmp(ct, "application/xhtml", 17) == 0);
}

/* Offers one slice of the sitemap's entries; returns false when the discovery must end (a bound was hit). */
static bool disc_offer(struct crawl *c, const struct disc *d, const struct sitemap *part)
{
	for (size_t i = 0; i < part->n; i++) {
		const struct sitemap_entry *e = &part->entries[i];
		if (!part->is_index) {
			if (!seed_add(c, false, e->url, e->lastmod))
				return false;
		} else if (!disc_add(c, e->url, DISC_SITEMAP, d->level + 1)) {
			return true; /* no more files: this index's other entries need no reading */
		}
	}
	return true;
}

/* The end of the sitemap c->todo: back to fetching the next. */
static void disc_file_done(struct crawl *c, const struct sitemap *last)
{
	struct disc *d = c->todo;
	const struct cfg *cfg = worker_cfg(c->job.run->worker);
	if (last->error)
		log_info("crawl %s: sitemap %s: %s", c->crawl_id, d->url, last->error);
	log_info("crawl %s: sitemap %s: %zu %s", c->crawl_id, d->url, c->file_entries,
	         last->is_index ? "sitemaps" : "URLs");
	if (last->truncated)
		disc_bound(c, B_ENTRIES, "%s has more than %d entries; the rest were not read", d->url,
		           cfg->sitemap_max_entries);
	c->skipped_long += last->skipped_long;
	sitemap_reader_free(c->reader);
	c->reader = NULL;
	c->todo = d->next;
	if (!c->todo)
		c->todo_tail = NULL;
	free(d->url);
	free(d);
	crawl_stage(c, CRAWL_DISCOVERING);
	disc_next(c);
}

/* One slice of the sitemap being read: a bounded step of the parser, its entries offered; then the next slice
 * from the loop, so leases are renewed and other jobs run between slices. */
static void on_slice(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	struct crawl *c = t->data;
	struct sitemap part = {0};
	int rc = sitemap_reader_step(c->reader, DISC_SLICE_ENTRIES, &part);
	c->file_entries += part.n;
	bool go_on = disc_offer(c, c->todo, &part);
	if (go_on && ev_now(c->loop) > c->deadline) {
		disc_bound(c, B_TIME, "discovery ran past its time limit while reading %.200s", c->todo->url);
		go_on = false;
	}
	if (!go_on) {
		struct disc *d = c->todo;
		c->todo = d->next; /* keep the file being read at the head for disc_file_done */
		disc_drop_todo(c);
		d->next = NULL;
		c->todo = c->todo_tail = d;
		rc = 0;
	}
	const struct cfg *cfg = worker_cfg(c->job.run->worker);
	if (rc == 1 && part.is_index &&
	    (c->bounds_hit & (1u << B_FILES) || c->todo->level >= cfg->sitemap_max_depth))
		rc = 0; /* no file it lists can be fetched: the rest of the index needs no reading */
	if (rc == 1) {
		sitemap_free(&part);
		ev_timer_set(&c->slice, 0., 0.);
		ev_timer_start(c->loop, &c->slice);
		return;
	}
	disc_file_done(c, &part);
	sitemap_free(&part);
}

/* Starts reading a fetched sitemap in slices. */
static void disc_sitemap(struct crawl *c, const struct http_response *resp)
{
	const struct cfg *cfg = worker_cfg(c->job.run->worker);
	c->reader = sitemap_reader_new(resp->body.data, resp->body.len, resp->effective_url,
	                               (size_t)cfg->sitemap_max_entries);
	c->file_entries = 0;
	crawl_stage(c, CRAWL_PARSING);
	ev_timer_set(&c->slice, 0., 0.);
	ev_timer_start(c->loop, &c->slice);
}

static void disc_llms(struct crawl *c, const struct disc *d, const struct http_response *resp)
{
	seed_add(c, true, d->url, 0);
	if (d->kind == DISC_LLMS_FULL)
		return;
	struct links l = {0};
	if (links_from_llms_txt(resp->body.data ? resp->body.data : "", resp->body.len, resp->effective_url, 0, &l) == 0)
		for (size_t i = 0; i < l.n && seed_add(c, false, l.urls[i], 0); i++)
			;
	c->skipped_long += l.skipped_long;
	log_info("crawl %s: %s: %zu links", c->crawl_id, d->url, l.n);
	links_free(&l);
}

static void on_disc(struct http_response *resp, void *arg)
{
	struct crawl *c = arg;
	c->job.preq = NULL;
	struct disc *d = c->todo;
	bool ok = resp && resp->error_kind == HTTP_OK && resp->status >= 200 && resp->status < 300;
	if (ok && d->kind == DISC_SITEMAP) {
		disc_sitemap(c, resp); /* read in slices; d stays at the head until then */
		return;
	}
	c->todo = d->next;
	if (!c->todo)
		c->todo_tail = NULL;
	if (!ok)
		log_debug("crawl %s: %s: %s", c->crawl_id, d->url,
		          !resp ? "not fetched" : resp->error ? resp->error : "no 2xx answer");
	else if (!body_is_html(resp)) /* an HTML answer for llms.txt is a soft 404 */
		disc_llms(c, d, resp);
	free(d->url);
	free(d);
	disc_next(c);
}

static void disc_next(struct crawl *c)
{
	if (c->todo && ev_now(c->loop) > c->deadline) {
		disc_bound(c, B_TIME, "discovery ran past its time limit; %.200s and what followed were not read",
		           c->todo->url);
		disc_drop_todo(c);
	}
	if (c->bounds_hit & (1u << B_URLS))
		disc_drop_todo(c);
	if (!c->todo) {
		c->todo_tail = NULL;
		crawl_stage(c, CRAWL_SEED_ROBOTS);
		robots_lookup_patient(c->url, on_final_robots, c, &c->job.rwait);
		return;
	}
	c->job.preq = polite_get(c->todo->url, NULL, on_disc, c);
	if (!c->job.preq)
		on_disc(NULL, c);
}

static void on_robots(const struct robots *rules, void *arg)
{
	struct crawl *c = arg;
	c->job.rwait = NULL;
	if (robots_failed(c, rules))
		return;
	double delay = robots_crawl_delay(rules);
	c->robots_delay_ms = delay < 0 ? -1 : (long long)(delay * 1000);
	if (c->robots_delay_ms > CRAWL_MAX_ROBOTS_DELAY_MS)
		c->robots_delay_ms = CRAWL_MAX_ROBOTS_DELAY_MS;
	const struct cfg *cfg = worker_cfg(c->job.run->worker);
	c->loop = worker_loop(c->job.run->worker);
	ev_timer_init(&c->slice, on_slice, 0., 0.);
	c->slice.data = c;
	c->deadline = ev_now(c->loop) + (ev_tstamp)cfg->discovery_timeout_ms / 1000.;
	c->max_urls = cfg->discovery_max_urls < c->opts.max_pages ? cfg->discovery_max_urls : c->opts.max_pages;
	const char *const *maps;
	size_t n = robots_sitemaps(rules, &maps);
	for (size_t i = 0; i < n && disc_add(c, maps[i], DISC_SITEMAP, 0); i++)
		;
	char *u = xasprintf("%s/sitemap.xml", c->origin);
	disc_add(c, u, DISC_SITEMAP, 0);
	free(u);
	u = xasprintf("%s/llms.txt", c->origin);
	disc_add(c, u, DISC_LLMS, 0);
	free(u);
	u = xasprintf("%s/llms-full.txt", c->origin);
	disc_add(c, u, DISC_LLMS_FULL, 0);
	free(u);
	crawl_stage(c, CRAWL_DISCOVERING);
	disc_next(c);
}

static void on_setup(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	struct crawl *c = arg;
	if (crawl_job_gone(&c->job))
		return;
	if (!out->ok) {
		job_fail(crawl_end(c), out->error, false);
		return;
	}
	snprintf(c->crawl_id, sizeof c->crawl_id, "%s", pg_value(out->results[SETUP_CRAWL], 0, 0));
	log_info("crawl %s of %s (source %s) started by job %lld", c->crawl_id, c->url, c->source_id, c->job.job_id);
	seed_add(c, true, c->url, 0);
	crawl_stage(c, CRAWL_ROBOTS);
	robots_lookup_patient(c->url, on_robots, c, &c->job.rwait);
}

/* ---- payload ---- */

static char *parse_meta(json_t *root, struct crawl *c)
{
	json_t *sid = json_object_get(root, "source_id"), *kt = json_object_get(root, "knowledge_type"),
	       *tags = json_object_get(root, "tags");
	if (sid && (!json_is_string(sid) || !json_string_length(sid)))
		return xasprintf("crawl: \"source_id\" must be a non-empty string");
	if (kt && !json_is_string(kt))
		return xasprintf("crawl: \"knowledge_type\" must be a string");
	if (tags && !json_is_array(tags))
		return xasprintf("crawl: \"tags\" must be an array of strings");
	size_t i;
	json_t *e;
	json_array_foreach (tags, i, e)
		if (!json_is_string(e))
			return xasprintf("crawl: \"tags\" must be an array of strings");
	c->source_id = sid ? xstrdup(json_string_value(sid)) : url_source_id(c->url);
	/* crawl_type: Archon's name for a recursive crawl */
	json_t *meta = json_pack("{s:s, s:s, s:s, s:s}", "knowledge_type", kt ? json_string_value(kt) : "technical",
	                         "source_type", "url", "original_url", c->url, "crawl_type", "normal");
	json_object_set_new(meta, "tags", tags ? json_deep_copy(tags) : json_array());
	c->source_meta = json_dumps(meta, JSON_COMPACT);
	json_decref(meta);
	return NULL;
}

static char *crawl_parse(const char *payload, struct crawl *c)
{
	char *err;
	json_t *root = payload_object("crawl", payload, &err);
	json_t *u = json_object_get(root, "url");
	if (err) /* the payload is no JSON object: err says why */
		(void)0;
	else if (!json_is_string(u) || !(c->url = url_canonical(json_string_value(u))))
		err = xasprintf("crawl: \"url\" must be an absolute http(s) URL");
	else if (strlen(c->url) > URL_STORE_MAX_LEN)
		err = xasprintf("crawl: \"url\" is %zu bytes long; the limit is %d", strlen(c->url), URL_STORE_MAX_LEN);
	else if (!(err = crawl_opts_parse(payload, &c->opts)))
		err = parse_meta(root, c);
	if (!err) {
		c->root_host = url_host(c->url);
		c->origin = url_origin(c->url);
		json_t *opts = json_pack("{s:i, s:I}", "max_depth", c->opts.max_depth, "max_pages",
		                         (json_int_t)c->opts.max_pages);
		json_t *inc = json_object_get(root, "include"), *exc = json_object_get(root, "exclude");
		json_object_set_new(opts, "include", inc ? json_deep_copy(inc) : json_array());
		json_object_set_new(opts, "exclude", exc ? json_deep_copy(exc) : json_array());
		c->options = json_dumps(opts, JSON_COMPACT);
		json_decref(opts);
	}
	json_decref(root);
	return err;
}

static void crawl_run(struct job_run *r)
{
	struct crawl *c = xcalloc(1, sizeof *c);
	crawl_job_init(&c->job, &crawl_kind, r);
	c->robots_delay_ms = -1;
	char *err = crawl_parse(r->job.payload, c);
	if (err) {
		crawl_free(&c->job);
		job_fail(r, err, true);
		free(err);
		return;
	}
	r->state = c;
	char jid[32];
	snprintf(jid, sizeof jid, "%lld", r->job.id);
	struct pg_req *req = pg_req_new(on_setup, c);
	pg_req_addl(req, &source_upsert, c->source_id, c->url, c->root_host, c->source_meta);
	pg_req_addl(req, &crawl_upsert, c->source_id, c->url, c->options, jid);
	crawl_stage(c, CRAWL_SETUP);
	pool_submit(worker_pool(r->worker), req);
}

const struct handler crawl_handler = {
	.kind = "crawl", .run = crawl_run, .abandon = crawl_job_abandon, .start = polite_start, .stop = polite_stop};
