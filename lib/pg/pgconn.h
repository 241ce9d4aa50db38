/* One non-blocking libpq connection driven by a libev loop: connect, pipelined requests, notifications,
 * reconnect with backoff. */
#ifndef PGKB_PGCONN_H
#define PGKB_PGCONN_H

#include <ev.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "lib/pg/pgreq.h"

struct pg_conninfo; /* pgconninfo.h */

enum pgc_state {
	PGC_DOWN,       /* no connection; a reconnect timer is pending (or the conn is stopped) */
	PGC_CONNECTING, /* PQconnectPoll in progress */
	PGC_SETUP,      /* running the setup SQL (SET …, LISTEN …) */
	PGC_IDLE,       /* ready for a request; watching for notifications and server-side close */
	PGC_BUSY,       /* a request is in flight */
};

struct pg_conn;

struct pg_conn_hooks {
	/* The connection became ready (first time or after a reconnect). */
	void (*ready)(struct pg_conn *c, void *arg);
	/* The connection broke; a reconnect is scheduled. */
	void (*lost)(struct pg_conn *c, void *arg);
	/* A NOTIFY arrived. */
	void (*notify)(struct pg_conn *c, const char *channel, const char *payload, void *arg);
	void *arg;
};

/* Creates a connection and starts connecting. setup_sql (may be NULL) runs after every (re)connect, before
 * the connection is reported ready. The conninfo must outlive the connection. */
struct pg_conn *pgc_new(struct ev_loop *loop, const struct pg_conninfo *ci, const char *setup_sql,
                        const struct pg_conn_hooks *hooks);
/* Sends a request; the connection must be PGC_IDLE. The connection owns req until its callback ran. */
void pgc_send(struct pg_conn *c, struct pg_req *req);
enum pgc_state pgc_state(const struct pg_conn *c);
/* Closes the connection; a request in flight gets its callback with ok=false, unknown=true. */
void pgc_free(struct pg_conn *c);

#endif
