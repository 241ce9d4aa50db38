/* A worker's pool of non-blocking database connections: a FIFO of requests served by idle connections,
 * plus one LISTEN connection for wakeups. */
#ifndef PGKB_PGPOOL_H
#define PGKB_PGPOOL_H

#include <ev.h>
#include <stdbool.h>

#include "lib/pg/pgreq.h"

struct pg_conninfo;
struct pg_pool;

struct pg_pool_opts {
	int size;                /* request connections */
	const char *setup_sql;   /* run on every request connection after (re)connect, e.g. SETs */
	const char *listen_sql;  /* non-NULL: a LISTEN connection runs this after every (re)connect */
	/* A NOTIFY arrived on the LISTEN connection. */
	void (*on_notify)(const char *channel, const char *payload, void *arg);
	/* The LISTEN connection (re)connected: wakeups may have been missed meanwhile. */
	void (*on_listen_ready)(void *arg);
	void *arg;
};

/* Creates the pool and starts connecting. ci must outlive the pool. */
struct pg_pool *pool_new(struct ev_loop *loop, const struct pg_conninfo *ci, const struct pg_pool_opts *opts);
/* Queues a request; it runs when a connection is free (requests wait while the database is unreachable).
 * The pool owns req from here; its callback runs exactly once. */
void pool_submit(struct pg_pool *pool, struct pg_req *req);
/* Same, ahead of the requests queued with pool_submit (behind earlier pool_submit_first ones): for short
 * requests that keep work flowing (claiming jobs, loading what they need, reserving a host's slot), which
 * would otherwise wait behind long writes while the workers idle. */
void pool_submit_first(struct pg_pool *pool, struct pg_req *req);
/* Requests queued or in flight. */
int pool_pending(const struct pg_pool *pool);
/* Connections currently ready or busy (for metrics and health). */
int pool_connected(const struct pg_pool *pool);
/* Fails queued requests (ok=false, not unknown), closes every connection (requests in flight get
 * unknown=true) and frees the pool. Must not be called from inside a request callback. */
void pool_free(struct pg_pool *pool);

#endif
