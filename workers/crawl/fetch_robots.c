/* robots.txt cache per origin, in process memory with a TTL; concurrent lookups share one polite fetch. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "workers/crawl/fetch_politeness.h"
#include "lib/util/log.h"
#include "lib/util/mem.h"
#include "lib/crawl/url.h"

#define ROBOTS_TTL_S (60 * 60)
#define ROBOTS_UNREACHABLE_TTL_S 60
#define ROBOTS_CACHE_MAX 1024

struct robots_wait {
	robots_cb cb;
	void *arg;
	bool cancelled;
	struct robots_wait *next;
};

struct robots_entry {
	char *origin;
	struct robots *rules; /* NULL while loading */
	double expires;
	struct robots_wait *waiters;
	struct robots_entry *next;
};

static struct robots_entry *cache;
static int cache_n;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void entry_free(struct robots_entry *e)
{
	robots_free(e->rules);
	free(e->origin);
	free(e);
}

/* Drops expired, loaded entries (and everything loaded when the cache is full). */
static void cache_prune(void)
{
	double now = now_s();
	struct robots_entry **pp = &cache;
	while (*pp) {
		struct robots_entry *e = *pp;
		if (e->rules && !e->waiters && (e->expires < now || cache_n >= ROBOTS_CACHE_MAX)) {
			*pp = e->next;
			entry_free(e);
			cache_n--;
		} else {
			pp = &e->next;
		}
	}
}

static void on_robots(struct http_response *resp, void *arg)
{
	struct robots_entry *e = arg;
	if (!resp) {
		e->rules = robots_for_status(0);
	} else if (resp->error_kind == HTTP_OK && resp->status >= 200 && resp->status < 300) {
		size_t len = resp->body.len < ROBOTS_MAX_BYTES ? resp->body.len : ROBOTS_MAX_BYTES;
		e->rules = robots_parse(resp->body.data ? resp->body.data : "", len, polite_ua());
	} else if (resp->error_kind == HTTP_OK || resp->error_kind == HTTP_ERR_REDIRECTS) {
		e->rules = robots_for_status(resp->error_kind == HTTP_OK ? (int)resp->status : 310);
	} else if (resp->error_kind == HTTP_ERR_PRIVATE || resp->error_kind == HTTP_ERR_URL) {
		e->rules = robots_for_status(404); /* the page fetch will be refused with the real reason */
	} else {
		e->rules = robots_for_status(0);
	}
	e->expires = now_s() + (robots_unreachable(e->rules) ? ROBOTS_UNREACHABLE_TTL_S : ROBOTS_TTL_S);
	log_debug("robots.txt of %s: %s", e->origin, robots_unreachable(e->rules) ? "unreachable" : "loaded");
	while (e->waiters) {
		struct robots_wait *wt = e->waiters;
		e->waiters = wt->next;
		if (!wt->cancelled)
			wt->cb(e->rules, wt->arg);
		free(wt);
	}
}

void robots_lookup(const char *url, robots_cb cb, void *arg, struct robots_wait **wait)
{
	*wait = NULL;
	char *origin = url_origin(url);
	if (!origin) {
		struct robots *all = robots_for_status(404);
		cb(all, arg);
		robots_free(all);
		return;
	}
	cache_prune();
	struct robots_entry *e = cache;
	while (e && strcmp(e->origin, origin) != 0)
		e = e->next;
	if (e && e->rules) {
		free(origin);
		cb(e->rules, arg);
		return;
	}
	struct robots_wait *wt = xcalloc(1, sizeof *wt);
	wt->cb = cb;
	wt->arg = arg;
	*wait = wt;
	if (e) {
		free(origin);
		wt->next = e->waiters;
		e->waiters = wt;
		return;
	}
	e = xcalloc(1, sizeof *e);
	e->origin = origin;
	e->waiters = wt;
	e->next = cache;
	cache = e;
	cache_n++;
	char *robots_url = xasprintf("%s/robots.txt", origin);
	struct polite_req *p = polite_get(robots_url, NULL, on_robots, e);
	free(robots_url);
	if (!p)
		on_robots(NULL, e); /* runs cb, which may free *wait's owner: touch nothing after */
}

void robots_wait_cancel(struct robots_wait *wt)
{
	if (wt)
		wt->cancelled = true;
}

void robots_cache_clear(void)
{
	while (cache) {
		struct robots_entry *e = cache;
		cache = e->next;
		while (e->waiters) {
			struct robots_wait *wt = e->waiters;
			e->waiters = wt->next;
			free(wt);
		}
		entry_free(e);
	}
	cache_n = 0;
}
