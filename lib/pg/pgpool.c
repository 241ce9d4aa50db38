/* A worker's pool of non-blocking database connections. */
#include "lib/pg/pgpool.h"

#include <stdlib.h>

#include "lib/util/mem.h"
#include "lib/pg/pgconn.h"

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
	bool closing;
};

/* The pool's hold on a request: its own callback and argument, restored before calling it. */
struct wrap {
	struct pg_pool *pool;
	pg_done_cb cb;
	void *arg;
	bool plain; /* sent as a pool_submit request (counted in plain_in_flight) */
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

/* Wraps each request's callback to keep the in-flight count. */
static void on_done(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	struct wrap *w = arg;
	w->pool->in_flight--;
	w->pool->plain_in_flight -= w->plain;
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

static void enqueue(struct pg_pool *p, struct pg_req *req, bool first)
{
	struct wrap *w = xmalloc(sizeof *w);
	*w = (struct wrap){p, req->cb, req->arg, false};
	req->cb = on_done;
	req->arg = w;
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
