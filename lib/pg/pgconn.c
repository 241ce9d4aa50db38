/* One non-blocking libpq connection driven by a libev loop. */
#include "lib/pg/pgconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/log.h"
#include "lib/util/mem.h"
#include "lib/pg/pgconninfo.h"

#define BACKOFF_MIN 0.1
#define BACKOFF_MAX 5.0
/* read_only_sql_transaction: "cannot execute INSERT in a read-only transaction" on a hot standby */
#define SQLSTATE_READ_ONLY "25006"

/* What the next result in the pipeline belongs to. */
struct expect {
	const struct pg_stmt *prep; /* non-NULL: the Prepare of this statement */
	int call;                   /* the request's statement index */
};

struct pg_conn {
	struct ev_loop *loop;
	const struct pg_conninfo *ci;
	char *setup_sql;
	struct pg_conn_hooks hooks;
	PGconn *pg;
	enum pgc_state state;
	ev_io io;
	int io_fd, io_events;
	ev_timer retry;
	double backoff;
	bool down_logged;

	const struct pg_stmt **prepared; /* statements prepared on this session */
	int nprepared;

	/* The request in flight (PGC_BUSY) or the setup query's error (PGC_SETUP). */
	struct pg_req *req;
	struct expect exp[2 * PG_REQ_MAX_CALLS];
	int nexp, cur;
	bool cur_has_result, sync_sent, want_write;
	PGresult **results;
	char *error;
	char sqlstate[6];
	int failed_index;
};

static void on_io(struct ev_loop *loop, ev_io *w, int revents);
static void start_connect(struct pg_conn *c);

static void watch(struct pg_conn *c, int events)
{
	int fd = c->pg ? PQsocket(c->pg) : -1;
	if (fd == c->io_fd && events == c->io_events)
		return;
	if (c->io_fd >= 0)
		ev_io_stop(c->loop, &c->io);
	c->io_fd = fd;
	c->io_events = events;
	if (fd >= 0 && events) {
		ev_io_set(&c->io, fd, events);
		ev_io_start(c->loop, &c->io);
	} else {
		c->io_fd = -1;
	}
}

static char *trimmed(const char *msg)
{
	char *s = xstrdup(msg && *msg ? msg : "unknown error");
	size_t l = strlen(s);
	while (l && (s[l - 1] == '\n' || s[l - 1] == ' '))
		s[--l] = '\0';
	return s;
}

/* The server's message without the "ERROR:  " prefix and trailing context lines. */
static const char *result_message(const PGresult *r)
{
	const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	return m ? m : PQresultErrorMessage(r);
}

static void set_error(struct pg_conn *c, const char *msg, const char *sqlstate, int index)
{
	if (c->error)
		return;
	c->error = trimmed(msg);
	snprintf(c->sqlstate, sizeof c->sqlstate, "%s", sqlstate ? sqlstate : "");
	c->failed_index = index;
}

/* Hands the finished request to its callback; the connection is idle again before the callback runs. */
static void finish_request(struct pg_conn *c, bool unknown)
{
	struct pg_req *req = c->req;
	PGresult **results = c->results;
	char *error = c->error;
	struct pg_outcome out = {
		.ok = !error && !unknown,
		.unknown = unknown,
		.error = error,
		.sqlstate = c->sqlstate,
		.failed_index = error ? c->failed_index : -1,
		.nresults = req->ncalls,
		.results = results,
	};
	char sqlstate[6];
	memcpy(sqlstate, c->sqlstate, sizeof sqlstate);
	out.sqlstate = sqlstate;
	c->req = NULL;
	c->results = NULL;
	c->error = NULL;
	c->sqlstate[0] = '\0';
	req->cb(req, &out, req->arg);
	for (int i = 0; i < req->ncalls; i++)
		PQclear(results[i]);
	free(results);
	free(error);
	pg_req_free(req);
}

static void conn_lost(struct pg_conn *c, const char *why)
{
	char *msg = trimmed(why);
	if (!c->down_logged) {
		log_warn("database connection to %s lost: %s (reconnecting with backoff)", c->ci->describe, msg);
		c->down_logged = true;
	} else {
		log_debug("database still unreachable: %s", msg);
	}
	watch(c, 0);
	if (c->pg)
		PQfinish(c->pg);
	c->pg = NULL;
	c->nprepared = 0;
	c->state = PGC_DOWN;
	if (c->req) {
		bool unknown = c->sync_sent;
		free(c->error);
		c->error = NULL;
		set_error(c, msg, "08006", -1);
		finish_request(c, unknown);
	}
	free(c->error);
	c->error = NULL;
	free(msg);
	c->backoff = c->backoff < BACKOFF_MIN ? BACKOFF_MIN : c->backoff * 2;
	if (c->backoff > BACKOFF_MAX)
		c->backoff = BACKOFF_MAX;
	double delay = c->backoff * (0.75 + 0.5 * ((double)rand() / RAND_MAX));
	ev_timer_set(&c->retry, delay, 0.);
	ev_timer_start(c->loop, &c->retry);
	if (c->hooks.lost)
		c->hooks.lost(c, c->hooks.arg);
}

static void drain_notifies(struct pg_conn *c)
{
	PGnotify *n;
	while (c->pg && (n = PQnotifies(c->pg))) {
		if (c->hooks.notify)
			c->hooks.notify(c, n->relname, n->extra, c->hooks.arg);
		PQfreemem(n);
	}
}

static void became_ready(struct pg_conn *c)
{
	c->state = PGC_IDLE;
	c->backoff = 0;
	watch(c, EV_READ);
	if (c->down_logged) {
		log_info("database connection to %s restored", c->ci->describe);
		c->down_logged = false;
	}
	if (c->hooks.ready)
		c->hooks.ready(c, c->hooks.arg);
}

static void on_connected(struct pg_conn *c)
{
	if (PQsetnonblocking(c->pg, 1) != 0) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	if (!c->setup_sql) {
		became_ready(c);
		return;
	}
	c->state = PGC_SETUP;
	if (!PQsendQuery(c->pg, c->setup_sql)) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	int f = PQflush(c->pg);
	if (f < 0) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	c->want_write = f == 1;
	watch(c, EV_READ | (c->want_write ? EV_WRITE : 0));
}

static void poll_connect(struct pg_conn *c)
{
	switch (PQconnectPoll(c->pg)) {
	case PGRES_POLLING_READING:
		watch(c, EV_READ);
		break;
	case PGRES_POLLING_WRITING:
		watch(c, EV_WRITE);
		break;
	case PGRES_POLLING_OK:
		on_connected(c);
		break;
	default:
		conn_lost(c, PQerrorMessage(c->pg));
		break;
	}
}

static void start_connect(struct pg_conn *c)
{
	c->state = PGC_CONNECTING;
	c->pg = PQconnectStartParams(c->ci->keywords, c->ci->values, 0);
	if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD) {
		conn_lost(c, c->pg ? PQerrorMessage(c->pg) : "out of memory");
		return;
	}
	poll_connect(c);
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pg_conn *c = w->data;
	start_connect(c);
}

static void read_setup(struct pg_conn *c)
{
	while (!PQisBusy(c->pg)) {
		PGresult *r = PQgetResult(c->pg);
		if (!r) {
			if (c->error) {
				log_error("database session setup failed: %s", c->error);
				char *e = c->error;
				c->error = NULL;
				conn_lost(c, e);
				free(e);
				return;
			}
			became_ready(c);
			return;
		}
		if (PQresultStatus(r) == PGRES_FATAL_ERROR)
			set_error(c, result_message(r), PQresultErrorField(r, PG_DIAG_SQLSTATE), -1);
		PQclear(r);
	}
}

static void mark_prepared(struct pg_conn *c, const struct pg_stmt *stmt)
{
	c->prepared = xrealloc(c->prepared, (size_t)(c->nprepared + 1) * sizeof *c->prepared);
	c->prepared[c->nprepared++] = stmt;
}

static void take_result(struct pg_conn *c, PGresult *r)
{
	if (c->cur >= c->nexp) {
		PQclear(r);
		set_error(c, "protocol confusion: more results than statements", "", -1);
		return;
	}
	struct expect *e = &c->exp[c->cur];
	ExecStatusType st = PQresultStatus(r);
	c->cur_has_result = true;
	if (st == PGRES_FATAL_ERROR) {
		set_error(c, result_message(r), PQresultErrorField(r, PG_DIAG_SQLSTATE), e->call);
		PQclear(r);
		return;
	}
	if (e->prep) {
		if (st == PGRES_COMMAND_OK)
			mark_prepared(c, e->prep);
		PQclear(r);
		return;
	}
	if ((st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) && !c->results[e->call]) {
		c->results[e->call] = r;
		return;
	}
	if (st != PGRES_PIPELINE_ABORTED)
		set_error(c, "unexpected result status", "", e->call);
	PQclear(r);
}

static void read_results(struct pg_conn *c)
{
	while (c->req && !PQisBusy(c->pg)) {
		PGresult *r = PQgetResult(c->pg);
		if (!r) {
			if (!c->cur_has_result)
				return;
			c->cur++;
			c->cur_has_result = false;
			continue;
		}
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			if (!PQexitPipelineMode(c->pg)) {
				conn_lost(c, PQerrorMessage(c->pg));
				return;
			}
			if (c->error && strcmp(c->sqlstate, SQLSTATE_READ_ONLY) == 0) {
				/* The server became (or was) a standby: after a failover the old primary may come back as
				 * one, or a conninfo without target_session_attrs=read-write may land on one. Nothing was
				 * written (the transaction was refused), so the request is reported with an unknown outcome
				 * (its sender sends it again) and a new connection looks for the primary. */
				char *why = xasprintf("the server is read-only (%s): looking for the primary", c->error);
				conn_lost(c, why);
				free(why);
				return;
			}
			c->state = PGC_IDLE;
			watch(c, EV_READ);
			finish_request(c, false);
			if (c->state == PGC_IDLE && c->hooks.ready)
				c->hooks.ready(c, c->hooks.arg);
			return;
		}
		take_result(c, r);
	}
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct pg_conn *c = w->data;
	if (c->state == PGC_CONNECTING) {
		poll_connect(c);
		return;
	}
	if (c->want_write && (revents & EV_WRITE)) {
		int f = PQflush(c->pg);
		if (f < 0) {
			conn_lost(c, PQerrorMessage(c->pg));
			return;
		}
		c->want_write = f == 1;
	}
	if (revents & EV_READ) {
		if (!PQconsumeInput(c->pg)) {
			conn_lost(c, PQerrorMessage(c->pg));
			return;
		}
		drain_notifies(c);
		if (c->state == PGC_SETUP)
			read_setup(c);
		else if (c->state == PGC_BUSY)
			read_results(c);
		else if (PQstatus(c->pg) == CONNECTION_BAD)
			conn_lost(c, PQerrorMessage(c->pg));
	}
	if (c->pg && (c->state == PGC_BUSY || c->state == PGC_SETUP))
		watch(c, EV_READ | (c->want_write ? EV_WRITE : 0));
}

static bool is_prepared(const struct pg_conn *c, const struct pg_stmt *stmt)
{
	for (int i = 0; i < c->nprepared; i++)
		if (c->prepared[i] == stmt)
			return true;
	for (int i = 0; i < c->nexp; i++)
		if (c->exp[i].prep == stmt)
			return true;
	return false;
}

void pgc_send(struct pg_conn *c, struct pg_req *req)
{
	c->req = req;
	c->state = PGC_BUSY;
	c->nexp = c->cur = 0;
	c->cur_has_result = c->sync_sent = false;
	c->results = xcalloc((size_t)req->ncalls + 1, sizeof *c->results);
	if (!PQenterPipelineMode(c->pg))
		goto broken;
	for (int i = 0; i < req->ncalls; i++) {
		const struct pg_stmt *stmt = req->calls[i].stmt;
		if (!is_prepared(c, stmt)) {
			if (!PQsendPrepare(c->pg, stmt->name, stmt->sql, stmt->nparams, NULL))
				goto broken;
			c->exp[c->nexp++] = (struct expect){stmt, i};
		}
		const char *params[PG_MAX_PARAMS];
		int lengths[PG_MAX_PARAMS], formats[PG_MAX_PARAMS];
		pg_req_params_fmt(req, i, params, lengths, formats);
		if (!PQsendQueryPrepared(c->pg, stmt->name, stmt->nparams, params, lengths, formats, 0))
			goto broken;
		c->exp[c->nexp++] = (struct expect){NULL, i};
	}
	if (!PQpipelineSync(c->pg))
		goto broken;
	c->sync_sent = true;
	int f = PQflush(c->pg);
	if (f < 0)
		goto broken;
	c->want_write = f == 1;
	watch(c, EV_READ | (c->want_write ? EV_WRITE : 0));
	return;
broken:
	conn_lost(c, PQerrorMessage(c->pg));
}

struct pg_conn *pgc_new(struct ev_loop *loop, const struct pg_conninfo *ci, const char *setup_sql,
                        const struct pg_conn_hooks *hooks)
{
	struct pg_conn *c = xcalloc(1, sizeof *c);
	c->loop = loop;
	c->ci = ci;
	c->setup_sql = setup_sql ? xstrdup(setup_sql) : NULL;
	c->hooks = *hooks;
	c->io_fd = -1;
	ev_init(&c->io, on_io);
	c->io.data = c;
	ev_init(&c->retry, on_retry);
	c->retry.data = c;
	start_connect(c);
	return c;
}

enum pgc_state pgc_state(const struct pg_conn *c)
{
	return c->state;
}

void pgc_free(struct pg_conn *c)
{
	if (!c)
		return;
	c->hooks.lost = NULL;
	c->hooks.ready = NULL;
	watch(c, 0);
	ev_timer_stop(c->loop, &c->retry);
	if (c->req) {
		set_error(c, "connection closed by pgkb", "08003", -1);
		finish_request(c, c->sync_sent);
	}
	if (c->pg)
		PQfinish(c->pg);
	free(c->error);
	free(c->prepared);
	free(c->setup_sql);
	free(c);
}
