/* Crawl networking shared by the crawl and fetch handlers of one worker process: the process's HTTP client,
 * polite GETs gated per host by pgkb.host_reserve/host_release, and a robots.txt cache per origin. */
#ifndef PGKB_FETCH_POLITENESS_H
#define PGKB_FETCH_POLITENESS_H

#include "lib/http/http.h"
#include "lib/crawl/robots.h"
#include "workers/core/worker.h"

/* Longest in-process wait for a host's turn; a longer politeness wait (a big Retry-After) gives the job back
 * instead of holding its slot. */
#define POLITE_MAX_WAIT_MS 30000

/* Starts the shared state on w's loop (reference-counted: each handler's start hook calls it). Returns 0, or
 * -1 for a configuration the client cannot use. */
int polite_start(struct worker *w);
/* Drops a reference; the last one cancels what is in flight (callbacks run first) and frees everything. */
void polite_stop(struct worker *w);

/* resp: the response (see http.h), or NULL when the host's politeness wait would exceed POLITE_MAX_WAIT_MS or
 * the database could not be reached for a reservation (retry the job later). */
typedef void (*polite_cb)(struct http_response *resp, void *arg);

struct polite_req;
/* Queues a GET of url behind the host's politeness gate; cb runs exactly once, from the loop, unless
 * polite_cancel is called first. headers: NULL-terminated "Name: value" list or NULL, copied. Returns the
 * handle, or NULL (cb never called) when url has no host. */
struct polite_req *polite_get(const char *url, const char *const *headers, polite_cb cb, void *arg);
/* polite_get keeping only the first body_cap bytes of the body (see http_request.body_cap), 0: as polite_get. */
struct polite_req *polite_get_capped(const char *url, const char *const *headers, size_t body_cap, polite_cb cb,
                                     void *arg);
/* Forgets a request: its callback will not run; a transfer under way finishes (and releases its slot) on
 * its own. */
void polite_cancel(struct polite_req *p);

/* robots.txt of url's origin, from the cache or fetched (politely). cb gets the rules (owned by the cache,
 * valid during the call; never NULL: an unreachable robots.txt gives the disallow-all rules). */
typedef void (*robots_cb)(const struct robots *r, void *arg);
struct robots_wait;
/* *wait is set first: to a handle for robots_wait_cancel while the fetch is under way, else NULL; then cb may
 * run at once (a cache hit; an invalid url gets allow-all rules), and may free the memory *wait lies in. */
void robots_lookup(const char *url, robots_cb cb, void *arg, struct robots_wait **wait);
/* robots_lookup for a caller that waits while robots.txt is unreachable (5xx, 429, network error): it is
 * retried with backoff for up to crawl.robots_retry_for from the first try; cb gets rules that are not
 * unreachable, or, past the bound, the unreachable ones with robots_reason() saying what failed, how often
 * and for how long. A cached unreachable answer is tried again. */
void robots_lookup_patient(const char *url, robots_cb cb, void *arg, struct robots_wait **wait);
void robots_wait_cancel(struct robots_wait *wt);
/* Frees the cache (polite_stop calls it once nothing is in flight). */
void robots_cache_clear(void);
/* The loop for retry timers and crawl.robots_retry_for (polite_start calls it). */
void robots_configure(struct ev_loop *loop, int64_t retry_for_ms);

/* The robots.txt product token of the configured User-Agent. */
const char *polite_ua(void);

#endif
