/* The crawl job kind: discovers a site's URLs and seeds its fetch jobs; and the crawl options and result
 * statements that crawl and fetch share. */
#ifndef PGKB_CRAWL_H
#define PGKB_CRAWL_H

#include <stddef.h>

#include "lib/pg/pgreq.h"
#include "workers/core/worker.h"

extern const struct handler crawl_handler;

/* A crawl's options as stored in pgkb.crawls.options (and enqueued in the crawl payload). */
struct crawl_opts {
	int max_depth;
	long long max_pages;
	char **include, **exclude; /* NULL-terminated */
	size_t n_include, n_exclude;
};

#define CRAWL_DEFAULT_MAX_DEPTH 3
#define CRAWL_DEFAULT_MAX_PAGES 10000

/* Reads the scope options of a crawl payload or options object (JSON text) into *o; returns NULL or a heap
 * error message naming the bad key ("crawl: \"max_depth\" must be ..."). Free *o with crawl_opts_free. */
char *crawl_opts_parse(const char *json, struct crawl_opts *o);
void crawl_opts_free(struct crawl_opts *o);

/* True when url may join a crawl rooted at root_host: same host, include/exclude patterns. */
bool crawl_in_scope(const struct crawl_opts *o, const char *root_host, const char *url);

/* Result statements shared by crawl and fetch (appended to a request). crawl_id is decimal text. lock:
 * serialises the crawl job's result transaction with other claims (see schema/040_crawl.sql). claim: urls_json
 * is a JSON array of canonical URLs; its result is the number claimed, or -1 when the crawl takes no more, for
 * good (schema/040_crawl.sql). finish: marks the crawl done when nothing of it is queued (the crawl
 * job, under lock). settle: the end of a fetch result; its result is 'done', 'running' or 'recheck' (settle
 * again after the commit). */
void crawl_add_lock(struct pg_req *w, const char *crawl_id);
void crawl_add_claim(struct pg_req *w, const char *crawl_id, const char *urls_json, int depth);
void crawl_add_finish(struct pg_req *w, const char *crawl_id);
void crawl_add_settle(struct pg_req *w, const char *crawl_id);

#endif
