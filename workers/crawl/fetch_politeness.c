/* Polite GETs: one HTTP client per worker process and a per-host gate that reserves slots with
 * pgkb.host_reserve (one reservation in flight per host per process; the others wait in a local FIFO).
 *
 * A slot granted while the host asks for no spacing between requests (host_delay 0 and no robots.txt
 * Crawl-delay) passes straight from a finished transfer to the next request queued for the host, for up to
 * SLOT_REUSE_S after its grant, without a database round trip: the number of requests in flight, the only
 * limit such a host has, is unchanged by the hand-over. After SLOT_REUSE_S the slot is released and
 * reserved again, so other processes get their turn and a Crawl-delay that robots.txt adds meanwhile takes
 * effect. Slots granted under a delay are used once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/pg/queue.h"
#include "workers/crawl/fetch_politeness.h"
#include "workers/crawl/fetch_media.h"
#include "lib/util/log.h"
#include "lib/util/mem.h"
#include "lib/pg/pgpool.h"
#include "lib/crawl/url.h"

/* Retry spacing when every slot of a host is taken (a local release kicks the gate earlier). */
#define GATE_FULL_WAIT_MS 50
#define GATE_RESERVE_MAX 16 /* reservations asked for in one round trip */
/* Retry spacing after a failed reservation request (database down). */
#define GATE_DB_WAIT_MS 1000
#define GATE_DB_FAILURES_MAX 30
#define SLOT_REUSE_S 1.0

static const struct pg_stmt host_reserve_stmt = {
	"pgkb_host_reserve",
	"SELECT granted, token, greatest(0, ceil(extract(epoch FROM next_allowed_at - clock_timestamp()) * 1000))::bigint"
	"  FROM pgkb.host_reserve($1, $2::int, $3::int, $4::int)",
	4,
};
enum { RESERVE_GRANTED, RESERVE_TOKEN, RESERVE_WAIT_MS };
static const struct pg_stmt host_release_stmt = {
	"pgkb_host_release",
	"SELECT pgkb.host_release($1, $2::timestamptz, $3::int)",
	3,
};

struct polite_req {
	char *url;
	char **headers; /* NULL-terminated copy */
	polite_cb cb;
	void *arg;
	struct gate *gate; /* while queued */
	struct polite_req *next;
	char *host;
	char *token; /* while fetching */
	size_t body_cap;
	bool reusable; /* the slot was granted without a delay: it may pass to the next request */
	double granted_at; /* ev_now() at the slot's grant */
	bool cancelled;
};

struct gate {
	char *host;
	struct polite_req *head, *tail;
	bool reserving;
	bool full; /* the last refusal was for slots, not delay */
	int db_failures;
	ev_timer timer;
	struct gate *next;
};

static struct {
	int refs;
	struct worker *w;
	struct http_client *http;
	struct gate *gates;
	char ua_token[64];
} pl;

static void gate_kick(struct gate *g);

const char *polite_ua(void)
{
	return pl.ua_token;
}

static void set_ua_token(const char *ua)
{
	size_t n = 0;
	while (ua[n] && n + 1 < sizeof pl.ua_token &&
	       ((ua[n] >= 'a' && ua[n] <= 'z') || (ua[n] >= 'A' && ua[n] <= 'Z') || ua[n] == '_' || ua[n] == '-'))
		n++;
	memcpy(pl.ua_token, ua, n);
	pl.ua_token[n] = '\0';
}

int polite_start(struct worker *w)
{
	if (pl.refs++ > 0)
		return 0;
	const struct cfg *cfg = worker_cfg(w);
	struct http_client_opts o;
	http_client_opts_init(&o);
	o.user_agent = cfg->user_agent;
	o.max_total_connections = 0;
	o.max_host_connections = cfg_host_concurrency_max(cfg); /* the gate holds each host to its own limit */
	o.connect_timeout_ms = cfg->fetch_connect_timeout_ms;
	o.timeout_ms = cfg->fetch_timeout_ms;
	/* a PDF or office document may be larger than an HTML page: the cap follows the response's type */
	fetch_media_configure(cfg);
	o.max_body_bytes = fetch_media_max_cap();
	o.max_body_for_type = fetch_media_cap;
	/* a server trickling its answer would hold the host's politeness slot for the whole crawl.timeout */
	o.low_speed_bytes = (long)cfg->fetch_low_speed_bytes;
	o.low_speed_secs = (long)((cfg->fetch_low_speed_time_ms + 999) / 1000);
	o.max_redirects = cfg->max_redirects;
	o.allow_private = cfg->allow_private_addresses;
	o.allow_networks = (const char *const *)cfg->allow_networks;
	pl.w = w;
	pl.http = http_client_new(worker_loop(w), &o);
	set_ua_token(cfg->user_agent);
	robots_configure(worker_loop(w), cfg->robots_retry_for_ms);
	return 0;
}

static struct gate *gate_find(const char *host, bool create)
{
	for (struct gate *g = pl.gates; g; g = g->next)
		if (strcmp(g->host, host) == 0)
			return g;
	if (!create)
		return NULL;
	struct gate *g = xcalloc(1, sizeof *g);
	g->host = xstrdup(host);
	ev_init(&g->timer, NULL);
	g->next = pl.gates;
	pl.gates = g;
	return g;
}

static void preq_free(struct polite_req *p)
{
	for (size_t i = 0; p->headers && p->headers[i]; i++)
		free(p->headers[i]);
	free(p->headers);
	free(p->url);
	free(p->host);
	free(p->token);
	free(p);
}

/* Drops the cancelled requests at the head of g's queue. */
static void gate_prune(struct gate *g)
{
	while (g->head && g->head->cancelled) {
		struct polite_req *p = g->head;
		g->head = p->next;
		preq_free(p);
	}
	if (!g->head)
		g->tail = NULL;
}

/* Takes the next live request off g's queue (NULL when none). */
static struct polite_req *gate_pop(struct gate *g)
{
	gate_prune(g);
	struct polite_req *p = g->head;
	if (!p)
		return NULL;
	g->head = p->next;
	if (!g->head)
		g->tail = NULL;
	p->gate = NULL;
	return p;
}

static void gate_fail_all(struct gate *g)
{
	while (g->head) {
		struct polite_req *p = g->head;
		g->head = p->next;
		if (!p->cancelled)
			p->cb(NULL, p->arg);
		preq_free(p);
	}
	g->tail = NULL;
}

void polite_stop(struct worker *w)
{
	if (--pl.refs > 0)
		return;
	for (struct gate *g = pl.gates; g; g = g->next)
		ev_timer_stop(worker_loop(w), &g->timer);
	for (struct gate *g = pl.gates; g; g = g->next)
		gate_fail_all(g);
	http_client_free(pl.http);
	pl.http = NULL;
	robots_cache_clear();
	while (pl.gates) {
		struct gate *g = pl.gates;
		pl.gates = g->next;
		free(g->host);
		free(g);
	}
}

static void on_released(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	char *host = arg;
	if (!out->ok)
		log_warn("host_release(%s) failed: %s", host, out->error);
	struct gate *g = pl.http ? gate_find(host, false) : NULL;
	if (g && g->full && ev_is_active(&g->timer)) {
		ev_timer_stop(worker_loop(pl.w), &g->timer);
		gate_kick(g);
	}
	free(host);
}

static void release_slot(const char *host, const char *token, long retry_after_ms)
{
	char ra[32];
	snprintf(ra, sizeof ra, "%ld", retry_after_ms);
	struct pg_req *req = pg_req_new(on_released, xstrdup(host));
	pg_req_addl(req, &host_release_stmt, host, token, ra);
	pg_req_addl(req, &queue_async_commit); /* soft state: no fsync while the host's row is locked */
	pool_submit(worker_pool(pl.w), req);
}

/* Retry-After in ms (delta seconds only; an HTTP date counts as a minute), for 429 and 503. */
static long retry_after_ms(const struct http_response *resp)
{
	if (resp->status != 429 && resp->status != 503)
		return 0;
	if (!resp->retry_after)
		return 5000;
	char *end;
	long s = strtol(resp->retry_after, &end, 10);
	if (end == resp->retry_after)
		return 60000;
	return s < 0 ? 0 : s > 3600 ? 3600000 : s * 1000;
}

static void start_transfer(struct polite_req *p, const char *token);

/* Hands the slot of finished request done to the next request queued for its host, if it may (see the top of
 * this file). Returns false when the slot is to be released instead. */
static bool pass_slot(const struct polite_req *done, long retry_after)
{
	if (!done->reusable || retry_after > 0 || !pl.http ||
	    ev_now(worker_loop(pl.w)) - done->granted_at > SLOT_REUSE_S)
		return false;
	struct gate *g = gate_find(done->host, false);
	struct polite_req *p = g ? gate_pop(g) : NULL;
	if (!p)
		return false;
	p->reusable = true;
	p->granted_at = done->granted_at;
	start_transfer(p, done->token);
	return true;
}

static void on_http_done(struct http_response *resp, void *arg)
{
	struct polite_req *p = arg;
	long ra = retry_after_ms(resp);
	if (!pass_slot(p, ra))
		release_slot(p->host, p->token, ra);
	if (!p->cancelled)
		p->cb(resp, p->arg);
	preq_free(p);
}

static void start_transfer(struct polite_req *p, const char *token)
{
	p->token = xstrdup(token);
	struct http_request hr = {.method = HTTP_GET, .url = p->url, .headers = (const char *const *)p->headers,
	                          .body_cap = p->body_cap};
	if (http_request(pl.http, &hr, on_http_done, p) != 0) {
		release_slot(p->host, p->token, 0);
		if (!p->cancelled)
			p->cb(NULL, p->arg);
		preq_free(p);
	}
}

static void on_gate_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	gate_kick(t->data);
}

static void gate_wait(struct gate *g, double ms)
{
	ev_timer_stop(worker_loop(pl.w), &g->timer);
	ev_timer_init(&g->timer, on_gate_timer, ms / 1000.0, 0.);
	g->timer.data = g;
	ev_timer_start(worker_loop(pl.w), &g->timer);
}

static bool reserve_granted(const PGresult *res)
{
	return PQntuples(res) == 1 && strcmp(pg_value(res, 0, RESERVE_GRANTED), "t") == 0;
}

static void on_reserved(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	char *host = arg;
	struct gate *g = pl.http ? gate_find(host, false) : NULL;
	if (!g) {
		free(host);
		return; /* shutting down: an unused slot expires with its lease */
	}
	free(host);
	g->reserving = false;
	if (!out->ok) {
		log_warn("host_reserve(%s) failed: %s", g->host, out->error);
		if (++g->db_failures >= GATE_DB_FAILURES_MAX) {
			g->db_failures = 0;
			gate_fail_all(g);
			return;
		}
		gate_wait(g, GATE_DB_WAIT_MS);
		return;
	}
	g->db_failures = 0;
	/* one result per reservation asked for (gate_kick), then the commit's; the first refusal ends the grants */
	int asked = req->ncalls - 1, at = 0;
	for (; at < asked && reserve_granted(out->results[at]); at++) {
		const char *token = pg_value(out->results[at], 0, RESERVE_TOKEN);
		struct polite_req *p = gate_pop(g);
		if (!p) {
			release_slot(g->host, token, 0);
			continue;
		}
		p->reusable = pg_int(out->results[at], 0, RESERVE_WAIT_MS) == 0; /* granted with no spacing to the next request */
		p->granted_at = ev_now(worker_loop(pl.w));
		start_transfer(p, token);
	}
	if (at == asked) {
		gate_kick(g);
		return;
	}
	long long wait = pg_int(out->results[at], 0, RESERVE_WAIT_MS);
	g->full = wait <= 0;
	if (wait > POLITE_MAX_WAIT_MS) {
		log_info("host %s: next request allowed in %.1fs; giving its queued fetches back", g->host, wait / 1000.0);
		gate_fail_all(g);
		return;
	}
	gate_wait(g, wait <= 0 ? GATE_FULL_WAIT_MS : (double)wait);
}

static void gate_kick(struct gate *g)
{
	gate_prune(g);
	if (!g->head || g->reserving || ev_is_active(&g->timer))
		return;
	const struct cfg *cfg = worker_cfg(pl.w);
	int host_conc;
	int64_t host_delay;
	cfg_host_politeness(cfg, g->host, &host_conc, &host_delay); /* crawl.hosts overrides, else the globals */
	char delay[32], conc[16], lease[32];
	snprintf(delay, sizeof delay, "%lld", (long long)host_delay);
	snprintf(conc, sizeof conc, "%d", host_conc);
	snprintf(lease, sizeof lease, "%lld", (long long)(cfg->fetch_timeout_ms + 10000));
	g->reserving = true;
	struct pg_req *req = pg_req_new(on_reserved, xstrdup(g->host));
	/* A host without spacing can have several slots at once: one reservation per queued request, up to
	 * GATE_RESERVE_MAX, in one round trip (each sees the ones before it), so a crawl's first requests do not
	 * wait for as many round trips as the host has slots. With spacing, the second would be refused anyway. */
	int n = 0;
	for (struct polite_req *p = g->head; p && n < (host_delay == 0 ? GATE_RESERVE_MAX : 1); p = p->next)
		n += !p->cancelled;
	for (int i = 0; i < n; i++)
		pg_req_addl(req, &host_reserve_stmt, g->host, delay, conc, lease);
	pg_req_addl(req, &queue_async_commit); /* a reservation lost in a crash only frees its slot early */
	pool_submit_first(worker_pool(pl.w), req);
}

struct polite_req *polite_get(const char *url, const char *const *headers, polite_cb cb, void *arg)
{
	return polite_get_capped(url, headers, 0, cb, arg);
}

struct polite_req *polite_get_capped(const char *url, const char *const *headers, size_t body_cap, polite_cb cb,
                                     void *arg)
{
	char *host = url_host(url);
	if (!host || !pl.http) {
		free(host);
		return NULL;
	}
	struct polite_req *p = xcalloc(1, sizeof *p);
	p->url = xstrdup(url);
	p->host = host;
	p->cb = cb;
	p->arg = arg;
	p->body_cap = body_cap;
	size_t n = 0;
	while (headers && headers[n])
		n++;
	p->headers = xcalloc(n + 1, sizeof *p->headers);
	for (size_t i = 0; i < n; i++)
		p->headers[i] = xstrdup(headers[i]);
	struct gate *g = gate_find(host, true);
	p->gate = g;
	if (g->tail)
		g->tail->next = p;
	else
		g->head = p;
	g->tail = p;
	gate_kick(g);
	return p;
}

void polite_cancel(struct polite_req *p)
{
	if (p)
		p->cancelled = true; /* freed by the gate (queued) or when its transfer ends */
}
