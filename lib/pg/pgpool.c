/* A worker's pool of non-blocking database connections. */
#include "lib/pg/pgpool.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util/backoff.h"
#include "lib/util/log.h"
#include "lib/util/mem.h"
#include "lib/pg/pgconn.h"

/* A request refused for a transient reason (below) is sent again by the pool after a backoff, up to
 * RETRY_MAX times (about two minutes in all), before its sender sees the error. */
#define RETRY_BASE_MS 200
#define RETRY_CAP_MS 5000
#define RETRY_MAX 30

struct pg_pool {
	struct ev_loop *loop;
	struct pg_conn **conns;
	int size;
	struct pg_conn *listener;
	struct pg_pool_opts opts;
	struct pg_req *head, *tail; /* FIFO of requests waiting for a connection */
	struct pg_req *first_tail;  /* the last of the requests queued with pool_submit_first, at the head */
	int plain_in_flight;        /* requests from pool_submit in flight: at most size - 1 (see dispatch) */
	int queued, in_flight;
	struct wrap *retrying;      /* requests waiting for their retry timer (transient errors) */
	bool closing;
};

/* The pool's hold on a request: its own callback and argument, restored before calling it. */
struct wrap {
	struct pg_pool *pool;
	pg_done_cb cb;
	void *arg;
	bool plain; /* sent as a pool_submit request (counted in plain_in_flight) */
	bool first; /* queued with pool_submit_first */
	int tries;  /* transient failures so far */
	struct pg_req *req; /* while retrying: the copy that is sent again */
	ev_timer retry;
	struct wrap *next_retrying;
};

/* Takes the first queued request off the queue, leaving head, tail and first_tail consistent. */
static struct pg_req *pop_head(struct pg_pool *p)
{
	struct pg_req *req = p->head;
	p->head = req->next;
	if (!p->head)
		p->tail = NULL;
	if (p->first_tail == req)
		p->first_tail = NULL;
	req->next = NULL;
	p->queued--;
	return req;
}

/* Sends queued requests on idle connections. Requests from pool_submit use at most size - 1 connections, so
 * one is always there for pool_submit_first's short requests, which would otherwise wait for a long write to
 * end while the workers idle. */
static void dispatch(struct pg_pool *p)
{
	for (int i = 0; i < p->size && p->head; i++) {
		struct pg_conn *c = p->conns[i];
		if (pgc_state(c) != PGC_IDLE)
			continue;
		bool plain = !p->first_tail; /* the head is not a pool_submit_first request */
		if (plain && p->size > 1 && p->plain_in_flight >= p->size - 1)
			break;
		p->plain_in_flight += plain;
		((struct wrap *)p->head->arg)->plain = plain;
		struct pg_req *req = pop_head(p);
		p->in_flight++;
		pgc_send(c, req);
	}
}

static void on_conn_ready(struct pg_conn *c, void *arg)
{
	struct pg_pool *p = arg;
	if (!p->closing)
		dispatch(p);
}

static void on_listen_ready(struct pg_conn *c, void *arg)
{
	struct pg_pool *p = arg;
	if (p->opts.on_listen_ready)
		p->opts.on_listen_ready(p->opts.arg);
}

static void on_notify(struct pg_conn *c, const char *channel, const char *payload, void *arg)
{
	struct pg_pool *p = arg;
	if (p->opts.on_notify)
		p->opts.on_notify(channel, payload, p->opts.arg);
}

/* Errors after which the same request succeeds when sent again a little later: the whole request was rolled
 * back (one implicit transaction), so sending it again is safe whatever it does. A lock held by another
 * session past lock_timeout (55P03), a serialization failure (40001) and a deadlock (40P01). A statement
 * timeout is not among them: the same statement would most likely time out again. */
static bool transient(const struct pg_outcome *out)
{
	static const char *const states[] = {"55P03", "40001", "40P01"};
	if (out->ok || out->unknown || !out->sqlstate)
		return false;
	for (size_t i = 0; i < sizeof states / sizeof *states; i++)
		if (strcmp(out->sqlstate, states[i]) == 0)
			return true;
	return false;
}

static void insert(struct pg_pool *p, struct pg_req *req, bool first);
static void on_done(struct pg_req *req, const struct pg_outcome *out, void *arg);

static void on_retry(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct wrap *w = t->data;
	struct pg_pool *p = w->pool;
	for (struct wrap **at = &p->retrying; *at; at = &(*at)->next_retrying)
		if (*at == w) {
			*at = w->next_retrying;
			break;
		}
	struct pg_req *req = w->req;
	w->req = NULL;
	p->queued--; /* insert counts it again */
	insert(p, req, w->first);
}

/* Keeps a copy of a request that failed for a transient reason and sends it again after a backoff; false
 * when it is out of tries (or the pool is closing): its sender gets the error. */
static bool retry_later(struct wrap *w, const struct pg_req *req, const struct pg_outcome *out)
{
	struct pg_pool *p = w->pool;
	if (p->closing || !transient(out) || w->tries >= RETRY_MAX)
		return false;
	w->tries++;
	int64_t delay = backoff_ms(w->tries, RETRY_BASE_MS, RETRY_CAP_MS, (double)rand() / ((double)RAND_MAX + 1));
	if ((w->tries & (w->tries - 1)) == 0)
		log_warn("database request %s failed with a transient error: %s (SQLSTATE %s); sending it again in "
		         "%.1fs (try %d of %d)",
		         req->ncalls ? req->calls[0].stmt->name : "?", out->error, out->sqlstate, delay / 1000.0, w->tries,
		         RETRY_MAX);
	struct pg_req *copy = pg_req_new(on_done, w);
	for (int i = 0; i < req->ncalls; i++)
		pg_req_copy_call(copy, req, i);
	w->req = copy;
	ev_timer_init(&w->retry, on_retry, delay / 1000.0, 0.);
	w->retry.data = w;
	ev_timer_start(p->loop, &w->retry);
	w->next_retrying = p->retrying;
	p->retrying = w;
	return true;
}

/* Wraps each request's callback to keep the in-flight count. */
static void on_done(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	struct wrap *w = arg;
	w->pool->in_flight--;
	w->pool->plain_in_flight -= w->plain;
	if (retry_later(w, req, out)) {
		w->pool->queued++; /* waiting for its timer: still pending (pool_pending) */
		return;
	}
	if (w->tries)
		log_info("database request %s %s after %d transient failures", req->ncalls ? req->calls[0].stmt->name : "?",
		         out->ok ? "succeeded" : "failed", w->tries);
	req->cb = w->cb;
	req->arg = w->arg;
	free(w);
	req->cb(req, out, req->arg);
}

struct pg_pool *pool_new(struct ev_loop *loop, const struct pg_conninfo *ci, const struct pg_pool_opts *opts)
{
	struct pg_pool *p = xcalloc(1, sizeof *p);
	p->loop = loop;
	p->opts = *opts;
	p->size = opts->size > 0 ? opts->size : 1;
	p->conns = xcalloc((size_t)p->size, sizeof *p->conns);
	struct pg_conn_hooks hooks = {.ready = on_conn_ready, .arg = p};
	for (int i = 0; i < p->size; i++)
		p->conns[i] = pgc_new(loop, ci, opts->setup_sql, &hooks);
	if (opts->listen_sql) {
		struct pg_conn_hooks lh = {.ready = on_listen_ready, .notify = on_notify, .arg = p};
		p->listener = pgc_new(loop, ci, opts->listen_sql, &lh);
	}
	return p;
}

/* Puts a wrapped request in the queue (pool_submit_first ones ahead of the others) and dispatches. */
static void insert(struct pg_pool *p, struct pg_req *req, bool first)
{
	struct pg_req **at = first ? (p->first_tail ? &p->first_tail->next : &p->head) : (p->tail ? &p->tail->next : &p->head);
	req->next = *at;
	*at = req;
	if (!req->next)
		p->tail = req;
	if (first)
		p->first_tail = req;
	p->queued++;
	if (!p->closing)
		dispatch(p);
}

static void enqueue(struct pg_pool *p, struct pg_req *req, bool first)
{
	struct wrap *w = xcalloc(1, sizeof *w);
	*w = (struct wrap){.pool = p, .cb = req->cb, .arg = req->arg, .first = first};
	req->cb = on_done;
	req->arg = w;
	insert(p, req, first);
}

void pool_submit(struct pg_pool *p, struct pg_req *req)
{
	enqueue(p, req, false);
}

void pool_submit_first(struct pg_pool *p, struct pg_req *req)
{
	enqueue(p, req, true);
}

int pool_pending(const struct pg_pool *p)
{
	return p->queued + p->in_flight;
}

int pool_connected(const struct pg_pool *p)
{
	int n = 0;
	for (int i = 0; i < p->size; i++) {
		enum pgc_state s = pgc_state(p->conns[i]);
		n += s == PGC_IDLE || s == PGC_BUSY;
	}
	return n;
}

void pool_free(struct pg_pool *p)
{
	if (!p)
		return;
	p->closing = true;
	/* Requests waiting to be sent again join the queue, to be failed with it. */
	while (p->retrying) {
		struct wrap *w = p->retrying;
		p->retrying = w->next_retrying;
		ev_timer_stop(p->loop, &w->retry);
		p->queued--;
		insert(p, w->req, false);
		w->req = NULL;
	}
	while (p->head) {
		/* A callback may submit again (a failed result becomes a failed job): pop_head leaves no tail pointing
		 * at the request being failed, so the new one is queued, and failed in turn, not lost. */
		struct pg_req *req = pop_head(p);
		struct pg_outcome out = {.ok = false, .error = "database pool closed", .sqlstate = "08003",
		                         .failed_index = -1, .nresults = 0, .results = NULL};
		PGresult *none[PG_REQ_MAX_CALLS] = {0};
		out.nresults = req->ncalls;
		out.results = none;
		p->in_flight++; /* on_done decrements */
		req->cb(req, &out, req->arg);
		pg_req_free(req);
	}
	p->tail = p->first_tail = NULL;
	for (int i = 0; i < p->size; i++)
		pgc_free(p->conns[i]);
	pgc_free(p->listener);
	free(p->conns);
	free(p);
}
