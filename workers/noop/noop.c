/* The built-in noop job: does nothing, for health checks and benchmarks.
 * Payload (all optional): {"sleep_ms": N} simulates N ms of work, {"fail": "message"} fails the attempt with
 * that message, {"log": true} records the run in pgkb.noop_log in the completion's transaction. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/util/mem.h"
#include "lib/util/payload.h"
#include "workers/noop/noop.h"

#define NOOP_MAX_SLEEP_MS 86400000

struct noop {
	ev_timer timer;
	struct job_run *run;
	char *fail;
	bool log;
};

/* One row per job (pg_req_row): a group commit logs all its jobs in one statement. */
static const struct pg_stmt noop_log_insert = {
	"pgkb_noop_log",
	"INSERT INTO pgkb.noop_log (job_id, attempt, worker, payload)"
	" SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::jsonb[])",
	4,
};

static void noop_free(struct noop *n)
{
	free(n->fail);
	free(n);
}

static void noop_finish(struct noop *n)
{
	struct job_run *r = n->run;
	r->state = NULL;
	if (n->fail) {
		job_fail(r, n->fail, false);
	} else if (n->log) {
		struct pg_req *writes = pg_req_new(NULL, NULL);
		char id[32], att[16];
		snprintf(id, sizeof id, "%lld", r->job.id);
		snprintf(att, sizeof att, "%d", r->job.attempt);
		pg_req_addl(writes, &noop_log_insert, id, att, worker_id(r->worker), r->job.payload);
		pg_req_row(writes);
		job_succeed_with(r, writes);
	} else {
		job_succeed(r);
	}
	noop_free(n);
}

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	noop_finish(t->data);
}

/* Reads the payload into n; returns NULL or a heap error message. */
static char *noop_parse(const char *payload, struct noop *n, long long *sleep_ms)
{
	char *err;
	json_t *root = payload_object("noop", payload, &err);
	if (!root)
		return err;
	json_t *v = json_object_get(root, "sleep_ms");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > NOOP_MAX_SLEEP_MS))
		err = xasprintf("noop: \"sleep_ms\" must be an integer from 0 to %d", NOOP_MAX_SLEEP_MS);
	else if (v)
		*sleep_ms = json_integer_value(v);
	v = json_object_get(root, "fail");
	if (!err && v && !json_is_string(v))
		err = xasprintf("noop: \"fail\" must be a string (the error message to fail with)");
	else if (v)
		n->fail = xstrdup(json_string_value(v));
	v = json_object_get(root, "log");
	if (!err && v && !json_is_boolean(v))
		err = xasprintf("noop: \"log\" must be true or false");
	else if (v)
		n->log = json_is_true(v);
	json_decref(root);
	return err;
}

static void noop_run(struct job_run *r)
{
	struct noop *n = xcalloc(1, sizeof *n);
	n->run = r;
	long long sleep_ms = 0;
	char *err = noop_parse(r->job.payload, n, &sleep_ms);
	if (err) {
		noop_free(n);
		job_fail(r, err, true);
		free(err);
		return;
	}
	if (sleep_ms == 0) {
		noop_finish(n);
		return;
	}
	r->state = n;
	/* The loop's cached time can lag behind ev_time(), from which the job's duration is measured, when the
	 * loop is busy: without this a 20 ms sleep could end after less than 20 ms of measured duration. */
	ev_now_update(worker_loop(r->worker));
	ev_timer_init(&n->timer, on_timer, sleep_ms / 1000.0, 0.);
	n->timer.data = n;
	ev_timer_start(worker_loop(r->worker), &n->timer);
}

static void noop_abandon(struct job_run *r)
{
	struct noop *n = r->state;
	if (!n)
		return;
	ev_timer_stop(worker_loop(r->worker), &n->timer);
	noop_free(n);
	r->state = NULL;
}

const struct handler noop_handler = {.kind = "noop", .run = noop_run, .abandon = noop_abandon};
