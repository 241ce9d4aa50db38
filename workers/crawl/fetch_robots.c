/* robots.txt cache per origin, in process memory with a TTL; concurrent lookups share one polite fetch.
 *
 * An unreachable robots.txt (5xx, 429, a network error: RFC 9309 says crawl nothing) is retried with backoff
 * while a patient lookup (a crawl job deciding whether to crawl at all) waits, for up to
 * crawl.robots_retry_for from the first attempt; then the patient lookups get the unreachable rules with the
 * reason (robots_reason). Other lookups (fetch jobs) get the unreachable answer at once, as they always did:
 * their jobs are retried by the queue and hold no slot meanwhile. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "workers/crawl/fetch_politeness.h"
#include "lib/util/backoff.h"
#include "lib/util/duration.h"
#include "lib/util/log.h"
#include "lib/util/mem.h"
#include "lib/crawl/url.h"

#define ROBOTS_TTL_S (60 * 60)
#define ROBOTS_UNREACHABLE_TTL_S 60
#define ROBOTS_CACHE_MAX 1024
#define ROBOTS_RETRY_BASE_MS 1000
#define ROBOTS_RETRY_CAP_MS 60000

struct robots_wait {
	robots_cb cb;
	void *arg;
	bool cancelled;
	bool patient; /* waits through the retries */
	struct robots_wait *next;
};

struct robots_entry {
	char *origin;
	struct robots *rules; /* the last answer; NULL until the first one */
	double expires;
	bool loading;         /* a fetch or a retry timer is pending: waiters are served when it ends */
	struct robots_wait *waiters;
	int attempts;         /* of this load */
	double first_try;     /* when this load started */
	char *last_error;     /* its last failure ("HTTP 503", "connect: Could not resolve host: x") */
	ev_timer retry;
	int busy;             /* callbacks of its waiters are running: keep it */
	struct robots_entry *next;
};

static struct robots_entry *cache;
static int cache_n;
static struct ev_loop *retry_loop;
static int64_t retry_for_ms;

void robots_configure(struct ev_loop *loop, int64_t retry_for)
{
	retry_loop = loop;
	retry_for_ms = retry_for;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void entry_free(struct robots_entry *e)
{
	if (retry_loop)
		ev_timer_stop(retry_loop, &e->retry);
	while (e->waiters) {
		struct robots_wait *wt = e->waiters;
		e->waiters = wt->next;
		free(wt);
	}
	robots_free(e->rules);
	free(e->last_error);
	free(e->origin);
	free(e);
}

/* Drops expired, settled entries (and every settled one when the cache is full). */
static void cache_prune(void)
{
	double now = now_s();
	struct robots_entry **pp = &cache;
	while (*pp) {
		struct robots_entry *e = *pp;
		if (e->rules && !e->loading && !e->waiters && !e->busy && (e->expires < now || cache_n >= ROBOTS_CACHE_MAX)) {
			*pp = e->next;
			entry_free(e);
			cache_n--;
		} else {
			pp = &e->next;
		}
	}
}

/* Calls the waiters of e (only the impatient ones, or all) with rules, and frees them. They are taken off e
 * first: a callback may queue new waiters, which belong to the next answer. e stays (busy) meanwhile. */
static void notify(struct robots_entry *e, const struct robots *rules, bool impatient_only)
{
	struct robots_wait *list = NULL, **keep = &e->waiters, **take = &list;
	for (struct robots_wait *wt = e->waiters, *next; wt; wt = next) {
		next = wt->next;
		wt->next = NULL;
		if (!impatient_only || !wt->patient) {
			*take = wt;
			take = &wt->next;
		} else {
			*keep = wt;
			keep = &wt->next;
		}
	}
	*keep = NULL;
	e->busy++;
	while (list) {
		struct robots_wait *wt = list;
		list = wt->next;
		if (!wt->cancelled)
			wt->cb(rules, wt->arg);
		free(wt);
	}
	e->busy--;
}

static bool has_patient(const struct robots_entry *e)
{
	for (const struct robots_wait *wt = e->waiters; wt; wt = wt->next)
		if (wt->patient && !wt->cancelled)
			return true;
	return false;
}

/* Ends e's load with rules (owned by e from now on) and serves every waiter. */
static void settle(struct robots_entry *e, struct robots *rules, double ttl_s)
{
	robots_free(e->rules);
	e->rules = rules;
	e->loading = false;
	e->expires = now_s() + ttl_s;
	notify(e, e->rules, false);
}

static void on_robots(struct http_response *resp, void *arg);

static void start_fetch(struct robots_entry *e)
{
	e->loading = true;
	char *robots_url = xasprintf("%s/robots.txt", e->origin);
	/* a prefix is all robots_parse reads (RFC 9309 §2.5: at least 500 KiB), whatever crawl.max_bytes says: the
	 * one byte over tells it that the last line was cut */
	struct polite_req *p = polite_get_capped(robots_url, NULL, ROBOTS_MAX_BYTES + 1, on_robots, e);
	free(robots_url);
	if (!p)
		on_robots(NULL, e);
}

static void on_retry_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct robots_entry *e = t->data;
	if (has_patient(e)) {
		start_fetch(e);
		return;
	}
	/* everyone who waited has gone (their jobs were abandoned): stop here */
	char *why = xasprintf("robots.txt of %s unreachable: %s", e->origin, e->last_error ? e->last_error : "?");
	settle(e, robots_unreachable_because(why), ROBOTS_UNREACHABLE_TTL_S);
	free(why);
}

/* The rules for a response (NULL: the politeness gate gave the request back), and for an unreachable answer
 * the reason in *why (heap). */
static struct robots *rules_for(const struct http_response *resp, char **why)
{
	*why = NULL;
	struct robots *rules;
	if (!resp) {
		rules = robots_for_status(0);
		*why = xstrdup("host politeness wait too long or database unreachable");
	} else if (resp->error_kind == HTTP_OK && resp->status >= 200 && resp->status < 300) {
		rules = robots_parse(resp->body.data ? resp->body.data : "", resp->body.len, polite_ua());
	} else if (resp->error_kind == HTTP_OK || resp->error_kind == HTTP_ERR_REDIRECTS) {
		rules = robots_for_status(resp->error_kind == HTTP_OK ? (int)resp->status : 310);
		if (robots_unreachable(rules))
			*why = xasprintf("HTTP %ld", resp->status);
	} else if (resp->error_kind == HTTP_ERR_PRIVATE || resp->error_kind == HTTP_ERR_URL) {
		rules = robots_for_status(404); /* the page fetch will be refused with the real reason */
	} else {
		rules = robots_for_status(0);
		*why = xasprintf("%s: %s", http_error_name(resp->error_kind), resp->error ? resp->error : "?");
	}
	return rules;
}

static void on_robots(struct http_response *resp, void *arg)
{
	struct robots_entry *e = arg;
	if (resp && resp->error_kind == HTTP_ERR_CANCELLED)
		return; /* shutting down: robots_cache_clear frees the entry and its waiters */
	char *why;
	struct robots *rules = rules_for(resp, &why);
	e->attempts++;
	if (!robots_unreachable(rules)) {
		log_debug("robots.txt of %s: loaded%s", e->origin, resp && resp->truncated ? " (its first 500 KiB)" : "");
		settle(e, rules, ROBOTS_TTL_S);
		return;
	}
	free(e->last_error);
	e->last_error = why;
	notify(e, rules, true); /* fetch jobs: retried by the queue */
	double now = now_s(), deadline = e->first_try + retry_for_ms / 1000.0;
	if (has_patient(e) && now < deadline && retry_loop) {
		robots_free(rules);
		double delay = backoff_ms(e->attempts, ROBOTS_RETRY_BASE_MS, ROBOTS_RETRY_CAP_MS,
		                          (double)rand() / ((double)RAND_MAX + 1)) / 1000.0;
		if (now + delay > deadline) /* the last try at the deadline */
			delay = deadline - now;
		log_info("robots.txt of %s unreachable (%s), attempt %d; retrying in %.1f s", e->origin, e->last_error,
		         e->attempts, delay);
		ev_timer_init(&e->retry, on_retry_timer, delay, 0.);
		e->retry.data = e;
		ev_timer_start(retry_loop, &e->retry);
		return;
	}
	robots_free(rules);
	char bound[DURATION_FMT_MAX];
	char *reason = xasprintf("robots.txt of %s unreachable: %s (%d attempt%s over %.1f s, crawl.robots_retry_for %s); "
	                         "RFC 9309: nothing is crawled until it answers",
	                         e->origin, e->last_error, e->attempts, e->attempts == 1 ? "" : "s", now - e->first_try,
	                         duration_format(retry_for_ms, bound));
	if (has_patient(e))
		log_warn("%s", reason);
	else
		log_debug("%s", reason);
	settle(e, robots_unreachable_because(reason), ROBOTS_UNREACHABLE_TTL_S);
	free(reason);
}

static void lookup(const char *url, robots_cb cb, void *arg, struct robots_wait **wait, bool patient)
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
	/* a settled answer serves everyone, but a patient lookup tries an unreachable robots.txt again */
	if (e && !e->loading && e->rules && !(patient && robots_unreachable(e->rules))) {
		free(origin);
		cb(e->rules, arg);
		return;
	}
	/* an impatient lookup while robots.txt is being retried gets the unreachable answer now */
	if (e && e->loading && !patient && e->attempts > 0) {
		free(origin);
		struct robots *down = robots_for_status(0);
		cb(down, arg);
		robots_free(down);
		return;
	}
	struct robots_wait *wt = xcalloc(1, sizeof *wt);
	wt->cb = cb;
	wt->arg = arg;
	wt->patient = patient;
	*wait = wt;
	if (e) {
		free(origin);
		wt->next = e->waiters;
		e->waiters = wt;
		if (e->loading)
			return;
	} else {
		e = xcalloc(1, sizeof *e);
		e->origin = origin;
		e->waiters = wt;
		ev_init(&e->retry, on_retry_timer);
		e->next = cache;
		cache = e;
		cache_n++;
	}
	e->attempts = 0;
	e->first_try = now_s();
	start_fetch(e); /* may run cb at once, which may free *wait's owner: touch nothing after */
}

void robots_lookup(const char *url, robots_cb cb, void *arg, struct robots_wait **wait)
{
	lookup(url, cb, arg, wait, false);
}

void robots_lookup_patient(const char *url, robots_cb cb, void *arg, struct robots_wait **wait)
{
	lookup(url, cb, arg, wait, true);
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
		entry_free(e);
	}
	cache_n = 0;
}
