/* The common worker process, a job's lifecycle: claim, run, complete (fenced, batched), fail, renew, drain. */
#include "workers/core/worker.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/backoff.h"
#include "lib/util/buf.h"
#include "lib/util/log.h"
#include "lib/util/mem.h"
#include "lib/pg/pgbatch.h"
#include "lib/pg/pgconninfo.h"
#include "lib/pg/pgpool.h"
#include "workers/core/handlers.h"
#include "workers/core/maintenance.h"
#include "workers/core/stats.h"
#include "lib/text/utf8.h"

#define FOLLOWUP_DELAY 0.010  /* claim again this long after a wakeup: covers the NOTIFY throttle window */
#define RETRY_BASE_MS 1000
#define RETRY_CAP_MS (30 * 60 * 1000)
/* A failed claim is tried again after 100 ms, doubling to 5 s: a broken claim (no schema yet, a missing grant,
 * the database down) costs a few statements a second, not thousands, and a fixed one is noticed within 5 s. */
#define CLAIM_RETRY_BASE_MS 100
#define CLAIM_RETRY_CAP_MS 5000
/* After the drain timeout, how long a worker that handed jobs back waits for the database to confirm it. */
#define HANDBACK_GRACE 5.0

/* A job kind this worker runs. */
struct kind_slot {
	struct worker *w;
	int kind; /* its registry index (workers/core/handlers.h) */
	const struct handler *handler;
	bool ready;    /* jobs may be waiting: claim when a slot is free */
	bool followup; /* woken by NOTIFY: claim once more shortly after a short claim */
	ev_timer followup_timer;
	int claim_failures;   /* consecutive failed claims of this kind: the backoff step (0 after a success) */
	ev_timer claim_retry; /* active while this kind backs off: no claim of it until it fires */
};

struct done_item {
	long long id;
	int kind; /* job_kind_index */
};

/* Completed jobs waiting for (or in) one batched completion request. */
struct done_batch {
	struct buf ids, attempts;
	int n, cap;
	struct done_item *items; /* id and kind of each, for the per-kind counters */
};

/* A completion request in flight: which jobs of which kinds it completes. */
struct complete_ctx {
	struct worker *w;
	int n;
	struct done_item *items;
};

struct worker {
	struct ev_loop *loop;
	const struct cfg *cfg;
	const char *id;
	struct pg_conninfo ci;
	struct pg_pool *pool;
	struct kind_slot *kinds; /* one per registry row this worker kind runs */
	int nkinds, next_kind;
	int concurrency, batch;
	struct job_run *running; /* list of jobs being run */
	int nrunning;
	bool claim_in_flight;
	struct done_batch done;     /* accumulating */
	int completes_in_flight;
	int writes_in_flight;       /* fail/fenced-result/hand-back requests in flight or grouped */
	struct pg_batch group;      /* fenced results waiting for this loop iteration's group commit */
	bool draining, handed_back, stopping;
	ev_timer poll, maint, drain, hard_stop;
	ev_prepare flush;
	ev_signal sigterm, sigint, sighup;
	ev_io parent;
	struct maintenance maintenance;
	bool schema_hint_logged, grant_hint_logged; /* said once what fixes a failing claim (until one succeeds) */
	long long completed, failed, refused;
	int stats_slot; /* this process's slot in the shared counters (-1: none) */
};

static void try_claim(struct worker *w);
static void maybe_exit(struct worker *w);
static void flush_group(struct worker *w);

/* ---- finishing jobs ---- */

static void unlink_run(struct job_run *r)
{
	struct worker *w = r->worker;
	if (r->prev)
		r->prev->next = r->next;
	else
		w->running = r->next;
	if (r->next)
		r->next->prev = r->prev;
	w->nrunning--;
}

static void free_run(struct job_run *r)
{
	job_clear(&r->job);
	free(r);
}

/* Resubmits a request whose outcome is unknown (the connection broke after sending): every request the
 * worker sends is idempotent under its fence, so sending it again is safe. */
static struct pg_req *req_clone(const struct pg_req *req)
{
	struct pg_req *c = pg_req_new(req->cb, req->arg);
	for (int i = 0; i < req->ncalls; i++)
		pg_req_copy_call(c, req, i);
	return c;
}

/* True when the request was sent again (its outcome was unknown and the worker is not shutting down). */
static bool resubmitted(struct worker *w, const struct pg_req *req, const struct pg_outcome *out)
{
	if (!out->unknown || w->stopping)
		return false;
	pool_submit(w->pool, req_clone(req));
	return true;
}

#define STAT(field) offsetof(struct stats_kind_counters, field)

/* Counts each job of a completion as succeeded when the database returned its id, else refused. */
static void count_completed(const struct complete_ctx *cc, const PGresult *res)
{
	bool *done = xcalloc((size_t)cc->n + 1, sizeof *done);
	for (int r = 0; res && r < PQntuples(res); r++) {
		long long id = pg_int(res, r, 0);
		for (int i = 0; i < cc->n; i++)
			if (!done[i] && cc->items[i].id == id) {
				done[i] = true;
				break;
			}
	}
	for (int i = 0; i < cc->n; i++)
		stats_add_at(cc->items[i].kind, done[i] ? STAT(succeeded) : STAT(refused), 1);
	free(done);
}

static void on_completed(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	struct complete_ctx *cc = arg;
	struct worker *w = cc->w;
	if (resubmitted(w, req, out))
		return; /* the clone carries cc */
	if (out->ok)
		count_completed(cc, out->results[0]);
	free(cc->items);
	free(cc);
	w->completes_in_flight--;
	int sent = 0;
	const char *ids = req->params.data; /* first parameter: the id array literal */
	for (const char *p = ids; *p; p++)
		sent += *p == ',';
	sent += strcmp(ids, "{}") != 0;
	if (!out->ok) {
		log_error("completing %d jobs failed: %s (their leases will expire and they will run again)", sent,
		          out->error);
	} else {
		int done = PQntuples(out->results[0]);
		w->completed += done;
		if (done < sent) {
			w->refused += sent - done;
			log_warn("%d of %d completions refused: those jobs were no longer leased to this worker",
			         sent - done, sent);
		}
	}
	maybe_exit(w);
}

static void flush_done(struct worker *w)
{
	if (!w->done.n || w->completes_in_flight >= 2)
		return;
	pg_array_close(&w->done.ids);
	pg_array_close(&w->done.attempts);
	struct complete_ctx *cc = xmalloc(sizeof *cc);
	*cc = (struct complete_ctx){w, w->done.n, w->done.items};
	struct pg_req *req = pg_req_new(on_completed, cc);
	pg_req_addl(req, &queue_complete, buf_str(&w->done.ids), buf_str(&w->done.attempts), w->id);
	buf_reset(&w->done.ids);
	buf_reset(&w->done.attempts);
	w->done.n = 0;
	w->done.items = NULL;
	w->done.cap = 0;
	w->completes_in_flight++;
	pool_submit(w->pool, req);
}

static void on_flush(struct ev_loop *loop, ev_prepare *p, int revents)
{
	struct worker *w = p->data;
	flush_group(w);
	flush_done(w);
	try_claim(w);
}

static void end_run(struct job_run *r)
{
	stats_observe(job_kind_index(r->job.kind), ev_time() - r->started);
	r->finished = true;
	unlink_run(r);
	free_run(r);
}

void job_succeed(struct job_run *r)
{
	struct worker *w = r->worker;
	pg_array_add_int(&w->done.ids, r->job.id);
	pg_array_add_int(&w->done.attempts, r->job.attempt);
	if (w->done.n == w->done.cap) {
		w->done.cap = w->done.cap ? 2 * w->done.cap : 64;
		w->done.items = xrealloc(w->done.items, (size_t)w->done.cap * sizeof *w->done.items);
	}
	w->done.items[w->done.n] = (struct done_item){r->job.id, job_kind_index(r->job.kind)};
	w->done.n++;
	end_run(r);
	if (w->done.n >= w->batch)
		flush_done(w);
}

/* Outcome of a fail, fenced-result or hand-back request. */
static void on_written(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	struct worker *w = arg;
	if (resubmitted(w, req, out))
		return;
	w->writes_in_flight--;
	if (!out->ok && strcmp(out->sqlstate, QUEUE_SQLSTATE_FENCED) == 0) {
		w->refused++;
		log_warn("result of %s refused: %s", req->calls[0].stmt->name, out->error);
	} else if (!out->ok) {
		log_error("%s failed: %s", req->calls[0].stmt->name, out->error);
	} else if (req->calls[0].stmt == &queue_complete_fenced) {
		w->completed++;
	}
	maybe_exit(w);
}

/* A job's fenced result: its writes, committed with its completion only while the job is still leased to this
 * worker. A result transaction that failed for a reason other than the fence (a constraint, a bad value) fails
 * the job with that error instead of losing it. */
struct fenced {
	struct worker *w;
	long long id;
	int attempt;
	int kind;                  /* job_kind_index */
	struct pg_batch_part part; /* its writes, kept until their transaction commits */
};

static struct fenced *fenced_of(struct pg_batch_part *p)
{
	return (struct fenced *)(void *)((char *)p - offsetof(struct fenced, part));
}

static void fenced_free(struct fenced *f)
{
	pg_batch_part_clear(&f->part);
	free(f);
}

/* Bulk writes (a page's chunks, a batch of embeddings) may rightly take longer than the session's
 * statement_timeout: their transaction gets database.write_statement_timeout (SET LOCAL). */
static const struct pg_stmt set_write_timeout = {
	"pgkb_set_write_timeout", "SELECT set_config('statement_timeout', $1, true)", 1};

/* The transaction of one or more jobs' results: their completion, which is also their fence
 * (queue_complete_fenced), then their writes merged (pg_batch_merge). */
static struct pg_req *result_request(struct worker *w, const struct pg_batch *batch, pg_done_cb cb, void *arg)
{
	struct pg_req *req = pg_req_new(cb, arg);
	struct buf ids = BUF_INIT, atts = BUF_INIT;
	for (struct pg_batch_part *p = batch->head; p; p = p->next) {
		pg_array_add_int(&ids, fenced_of(p)->id);
		pg_array_add_int(&atts, fenced_of(p)->attempt);
	}
	pg_array_close(&ids);
	pg_array_close(&atts);
	pg_req_addl(req, &queue_complete_fenced, buf_str(&ids), buf_str(&atts), w->id);
	if (batch->calls + 2 <= PG_REQ_MAX_CALLS) { /* a lone job's writes may fill a request: they keep the session's */
		char timeout[32];
		snprintf(timeout, sizeof timeout, "%lldms", (long long)w->cfg->write_statement_timeout_ms);
		pg_req_addl(req, &set_write_timeout, timeout);
	}
	pg_batch_merge(req, batch);
	buf_free(&ids);
	buf_free(&atts);
	return req;
}

static void submit_fail(struct worker *w, int kind, long long id, int attempt, const char *error, bool permanent);

static void on_fenced_result(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	struct fenced *f = arg;
	struct worker *w = f->w;
	if (resubmitted(w, req, out))
		return;
	if (!out->ok && strcmp(out->sqlstate, QUEUE_SQLSTATE_FENCED) != 0) {
		w->writes_in_flight--;
		char *msg = xasprintf("writing the job's results failed: %s", out->error);
		submit_fail(w, f->kind, f->id, f->attempt, msg, false);
		free(msg);
		pg_batch_deliver(&f->part, req, out);
		fenced_free(f);
		maybe_exit(w);
		return;
	}
	stats_add_at(f->kind, out->ok ? STAT(succeeded) : STAT(refused), 1);
	pg_batch_deliver(&f->part, req, out);
	fenced_free(f);
	on_written(req, out, w);
}

/* One job's fenced result in its own transaction. */
static void submit_fenced(struct worker *w, struct fenced *f)
{
	struct pg_batch alone = {0};
	pg_batch_add(&alone, &f->part);
	pool_submit(w->pool, result_request(w, &alone, on_fenced_result, f));
}

/* A group commit: the fenced results of several jobs that finished in one loop iteration, in one transaction
 * (one round trip, one commit, one fenced completion for all, one call per statement of rows). When it
 * fails (one job's fence or writes), each result is sent again alone, so only the job at fault is affected. */
struct group_ctx {
	struct worker *w;
	struct pg_batch_part *head;
};

static void on_group_result(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	struct group_ctx *g = arg;
	struct worker *w = g->w;
	if (resubmitted(w, req, out))
		return; /* the clone carries g */
	for (struct pg_batch_part *p = g->head, *next; p; p = next) {
		struct fenced *f = fenced_of(p);
		next = p->next;
		if (!out->ok && !w->stopping) {
			submit_fenced(w, f);
			continue;
		}
		if (out->ok) {
			stats_add_at(f->kind, STAT(succeeded), 1);
			w->completed++;
		}
		w->writes_in_flight--;
		pg_batch_deliver(p, req, out);
		fenced_free(f);
	}
	if (!out->ok && w->stopping)
		log_error("group commit failed while stopping: %s (those jobs will run again)", out->error);
	free(g);
	maybe_exit(w);
}

static void flush_group(struct worker *w)
{
	struct pg_batch group = w->group;
	w->group = (struct pg_batch){0};
	if (group.n == 0)
		return;
	if (group.n == 1) {
		submit_fenced(w, fenced_of(group.head));
		return;
	}
	struct group_ctx *g = xmalloc(sizeof *g);
	*g = (struct group_ctx){w, group.head};
	pool_submit(w->pool, result_request(w, &group, on_group_result, g));
}

/* A group's jobs, at most (their rows' arrays are built in one request). */
#define GROUP_MAX_JOBS 128

/* The results of jobs that finish in one loop iteration go in one group, merged into one transaction (pg_batch):
 * the rows a job's writes mark with pg_req_row join their statement's array call, the calls marked pg_req_once
 * (settings, checks) are sent once. A group ends at the end of the iteration (on_flush), at GROUP_MAX_JOBS, or
 * when the next job's writes would take its request past PG_REQ_MAX_CALLS with the completion and the
 * statement timeout. */
void job_succeed_with(struct job_run *r, struct pg_req *writes)
{
	struct worker *w = r->worker;
	struct fenced *f = xmalloc(sizeof *f);
	*f = (struct fenced){w, r->job.id, r->job.attempt, job_kind_index(r->job.kind), {0}};
	pg_batch_part_init(&f->part, writes);
	w->writes_in_flight++;
	end_run(r);
	if (w->group.n == GROUP_MAX_JOBS || !pg_batch_try_add(&w->group, &f->part, PG_REQ_MAX_CALLS - 2)) {
		flush_group(w);
		pg_batch_add(&w->group, &f->part);
	}
}

/* A fail request in flight: its job's kind, to count the outcome (retried, dead or refused). */
struct fail_ctx {
	struct worker *w;
	int kind;
};

static void on_failed(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	struct fail_ctx *fc = arg;
	struct worker *w = fc->w;
	if (resubmitted(w, req, out))
		return; /* the clone carries fc */
	if (out->ok && PQntuples(out->results[0]) == 0)
		stats_add_at(fc->kind, STAT(refused), 1);
	else if (out->ok)
		stats_add_at(fc->kind, strcmp(pg_value(out->results[0], 0, 0), "dead") == 0 ? STAT(dead) : STAT(retried),
		             1);
	free(fc);
	on_written(req, out, w);
}

static void submit_fail(struct worker *w, int kind, long long id, int attempt, const char *error, bool permanent)
{
	char sid[32], satt[16], delay[32];
	snprintf(sid, sizeof sid, "%lld", id);
	snprintf(satt, sizeof satt, "%d", attempt);
	snprintf(delay, sizeof delay, "%lld",
	         (long long)backoff_ms(attempt, RETRY_BASE_MS, RETRY_CAP_MS, (double)rand() / ((double)RAND_MAX + 1)));
	char *clean = utf8_clean_dup(error, strlen(error));
	struct fail_ctx *fc = xmalloc(sizeof *fc);
	*fc = (struct fail_ctx){w, kind};
	struct pg_req *req = pg_req_new(on_failed, fc);
	pg_req_addl(req, &queue_fail, sid, satt, w->id, clean, delay, permanent ? "true" : "false");
	free(clean);
	stats_add_at(kind, STAT(failed), 1);
	w->failed++;
	w->writes_in_flight++;
	pool_submit(w->pool, req);
}

void job_fail(struct job_run *r, const char *error, bool permanent)
{
	struct worker *w = r->worker;
	log_info("job %lld (%s) attempt %d failed%s: %s", r->job.id, r->job.kind, r->job.attempt,
	         permanent ? " permanently" : "", error);
	submit_fail(w, job_kind_index(r->job.kind), r->job.id, r->job.attempt, error, permanent);
	end_run(r);
}

/* ---- claiming ---- */

static void start_job(struct worker *w, struct job job)
{
	struct job_run *r = xcalloc(1, sizeof *r);
	r->job = job;
	r->worker = w;
	r->started = ev_time();
	for (int i = 0; i < w->nkinds; i++)
		if (strcmp(job_kind_name(w->kinds[i].kind), job.kind) == 0)
			r->handler = w->kinds[i].handler;
	r->next = w->running;
	if (w->running)
		w->running->prev = r;
	w->running = r;
	w->nrunning++;
	log_debug("job %lld (%s) attempt %d started", job.id, job.kind, job.attempt);
	if (!r->handler) {
		job_fail(r, "no handler for this job kind in this worker", false);
		return;
	}
	r->handler->run(r);
}

struct claim_ctx {
	struct kind_slot *slot;
	int want;
};

/* The role the worker connects as, for the grant hint: database.url's user, else PGUSER. */
static const char *worker_role(const struct worker *w)
{
	for (int i = 0; w->ci.keywords[i]; i++)
		if (strcmp(w->ci.keywords[i], "user") == 0 && w->ci.values[i] && *w->ci.values[i])
			return w->ci.values[i];
	const char *env = getenv("PGUSER");
	return env && *env ? env : "ROLE";
}

/* Says once per process (until a claim succeeds) what fixes a claim that fails for a missing schema object or
 * a missing privilege: the error alone ("relation pgkb.jobs does not exist") does not say what to do. */
static void log_claim_hint(struct worker *w, const char *sqlstate)
{
	bool missing = strcmp(sqlstate, "42P01") == 0 || strcmp(sqlstate, "3F000") == 0 ||
	               strcmp(sqlstate, "42883") == 0 || strcmp(sqlstate, "42703") == 0;
	if (missing && !w->schema_hint_logged) {
		w->schema_hint_logged = true;
		log_error("the database (%s) has no pgkb schema, or one older than this binary: run `pgkb migrate`; "
		          "workers start by themselves once it is done",
		          w->ci.describe);
	} else if (strcmp(sqlstate, "42501") == 0 && !w->grant_hint_logged) {
		w->grant_hint_logged = true;
		log_error("the worker's role lacks a privilege it needs: as the owner of the pgkb schema, run "
		          "SELECT pgkb.grant_worker_role('%s'); (again after each `pgkb migrate`)",
		          worker_role(w));
	}
}

/* A failed claim (whatever the cause: a bad row, no schema, no grant, the database down) is tried again after
 * an exponential backoff with jitter, capped, per kind, so the other kinds of the worker go on. Logged at the
 * first failure and then on the 2nd, 4th, 8th ... try: at most one line per backoff step. */
static void claim_failed(struct worker *w, struct kind_slot *k, const struct pg_outcome *out)
{
	k->claim_failures++;
	int64_t delay = backoff_ms(k->claim_failures, CLAIM_RETRY_BASE_MS, CLAIM_RETRY_CAP_MS,
	                           (double)rand() / ((double)RAND_MAX + 1));
	if ((k->claim_failures & (k->claim_failures - 1)) == 0) {
		log_warn("claiming %s jobs failed%s: %s (try %d; next in %.1fs, backing off up to %ds)",
		         job_kind_name(k->kind), out->unknown ? " (connection lost)" : "", out->error, k->claim_failures,
		         delay / 1000.0, CLAIM_RETRY_CAP_MS / 1000);
		log_claim_hint(w, out->sqlstate ? out->sqlstate : "");
	}
	ev_timer_set(&k->claim_retry, delay / 1000.0, 0.);
	ev_timer_start(w->loop, &k->claim_retry);
}

static void on_claim_retry(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct kind_slot *k = t->data;
	try_claim(k->w);
}

static void claim_succeeded(struct worker *w, struct kind_slot *k)
{
	if (k->claim_failures > 0)
		log_info("claiming %s jobs works again after %d failed tries", job_kind_name(k->kind), k->claim_failures);
	k->claim_failures = 0;
	w->schema_hint_logged = w->grant_hint_logged = false;
}

static void on_claimed(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	struct claim_ctx *cc = arg;
	struct kind_slot *k = cc->slot;
	struct worker *w = k->w;
	int want = cc->want;
	free(cc);
	w->claim_in_flight = false;
	if (!out->ok) {
		/* An unknown outcome may have leased jobs we do not know of: we never renew those, so their
		 * leases expire and any worker rescues them. */
		if (!w->draining)
			claim_failed(w, k, out);
		maybe_exit(w);
		return;
	}
	claim_succeeded(w, k);
	int n = 0;
	struct job *jobs = queue_parse_claim(out->results[1], &n);
	stats_add(k->kind, claimed, (unsigned long long)n);
	if (n < want && !queue_claim_cut_short(out->results[1])) {
		k->ready = false;
		if (k->followup) {
			k->followup = false;
			ev_timer_set(&k->followup_timer, FOLLOWUP_DELAY, 0.);
			ev_timer_start(w->loop, &k->followup_timer);
		}
	}
	for (int i = 0; i < n; i++)
		start_job(w, jobs[i]);
	free(jobs);
	if (w->draining)
		maybe_exit(w);
}

static void try_claim(struct worker *w)
{
	if (w->draining || w->claim_in_flight)
		return;
	int free_slots = w->concurrency - w->nrunning;
	if (free_slots <= 0)
		return;
	for (int i = 0; i < w->nkinds; i++) {
		struct kind_slot *k = &w->kinds[(w->next_kind + i) % w->nkinds];
		if (!k->ready || ev_is_active(&k->claim_retry))
			continue;
		w->next_kind = (w->next_kind + i + 1) % w->nkinds;
		struct claim_ctx *cc = xmalloc(sizeof *cc);
		cc->slot = k;
		cc->want = free_slots < w->batch ? free_slots : w->batch;
		char want[16], lease[32], budget[32];
		snprintf(want, sizeof want, "%d", cc->want);
		snprintf(lease, sizeof lease, "%lld", (long long)w->cfg->lease_ms);
		snprintf(budget, sizeof budget, "%lld", QUEUE_CLAIM_PAYLOAD_BYTES);
		struct pg_req *req = pg_req_new(on_claimed, cc);
		pg_req_addl(req, &queue_async_commit);
		pg_req_addl(req, &queue_claim, job_kind_name(k->kind), want, w->id, lease, budget);
		w->claim_in_flight = true;
		pool_submit_first(w->pool, req);
		return;
	}
}

static void mark_all_ready(struct worker *w)
{
	for (int i = 0; i < w->nkinds; i++)
		w->kinds[i].ready = true;
	try_claim(w);
}

static void on_notify(const char *channel, const char *payload, void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < w->nkinds; i++) {
		struct kind_slot *k = &w->kinds[i];
		if (strcmp(job_kind_name(k->kind), payload) == 0) {
			k->ready = true;
			k->followup = true;
		}
	}
	try_claim(w);
}

static void on_listen_ready(void *arg)
{
	mark_all_ready(arg); /* wakeups may have been missed while disconnected */
}

static void on_followup(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct kind_slot *k = t->data;
	k->ready = true;
	try_claim(k->w);
}

static void on_poll(struct ev_loop *loop, ev_timer *t, int revents)
{
	mark_all_ready(t->data);
}

/* ---- the maintenance tick: gauges, lease renewal, the queue's housekeeping (maintenance.c) ---- */

static void on_renewed(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	struct worker *w = arg;
	/* the next tick renews again; a lease that expires meanwhile is rescued and its result refused by the fence */
	if (!out->ok)
		log_debug("renewing leases failed: %s", out->error);
	maybe_exit(w);
}

static void renew_leases(struct worker *w)
{
	char lease[32];
	snprintf(lease, sizeof lease, "%lld", (long long)w->cfg->lease_ms);
	struct buf ids = BUF_INIT;
	for (struct job_run *r = w->running; r; r = r->next)
		pg_array_add_int(&ids, r->job.id);
	pg_array_close(&ids);
	struct pg_req *req = pg_req_new(on_renewed, w);
	pg_req_addl(req, &queue_renew, w->id, lease, buf_str(&ids));
	buf_free(&ids);
	pool_submit(w->pool, req);
}

static void on_maint(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = t->data;
	stats_worker_set(w->stats_slot, pool_connected(w->pool), w->nrunning);
	if (pool_connected(w->pool) == 0 || w->handed_back)
		return;
	if (w->nrunning > 0)
		renew_leases(w);
	if (!w->draining)
		maintenance_tick(&w->maintenance, ev_now(loop));
}

static void on_maintenance_done(void *arg)
{
	maybe_exit(arg);
}

/* ---- drain and exit ---- */

static void maybe_exit(struct worker *w)
{
	if (w->draining && w->nrunning == 0 && w->done.n == 0 && !w->claim_in_flight &&
	    pool_pending(w->pool) == 0)
		ev_break(w->loop, EVBREAK_ALL);
}

/* Drain timeout: hand back the jobs still running (their attempt does not count) and stop. With none running,
 * stop now, whatever is still pending: a request the database never answers (it is down, refuses connections,
 * or hangs) must not keep a draining worker, or an orphan whose supervisor is gone, alive. What it leaves is
 * safe to leave: an unconfirmed completion or claim is a lease that expires and is rescued. */
static void on_drain_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = t->data;
	if (!w->nrunning) {
		if (pool_pending(w->pool) > 0)
			log_warn("drain timeout: stopping with %d database requests unanswered (their leases will expire)",
			         pool_pending(w->pool));
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	struct buf ids = BUF_INIT, atts = BUF_INIT;
	int n = 0;
	while (w->running) {
		struct job_run *r = w->running;
		pg_array_add_int(&ids, r->job.id);
		pg_array_add_int(&atts, r->job.attempt);
		n++;
		unlink_run(r);
		r->handler->abandon(r);
		free_run(r);
	}
	pg_array_close(&ids);
	pg_array_close(&atts);
	log_info("drain timeout: handing back %d running jobs", n);
	struct pg_req *req = pg_req_new(on_written, w);
	pg_req_addl(req, &queue_handback_jobs, buf_str(&ids), buf_str(&atts), w->id,
	            "handed back: the worker was stopped before the job finished");
	buf_free(&ids);
	buf_free(&atts);
	w->writes_in_flight++;
	w->handed_back = true;
	pool_submit(w->pool, req);
	/* If the database cannot be reached, stop anyway: the supervisor hands back what is left, and without one
	 * (an orphan) the leases expire and are rescued. With no connection up there is no answer to wait for. */
	ev_timer_set(&w->hard_stop, pool_connected(w->pool) > 0 ? HANDBACK_GRACE : 0., 0.);
	ev_timer_start(loop, &w->hard_stop);
}

static void on_hard_stop(struct ev_loop *loop, ev_timer *t, int revents)
{
	log_warn("database requests still pending after the drain timeout; stopping anyway");
	ev_break(loop, EVBREAK_ALL);
}

static void start_drain(struct worker *w, const char *why)
{
	if (w->draining)
		return;
	w->draining = true;
	log_info("draining (%s): %d jobs running, up to %.1fs", why, w->nrunning, w->cfg->drain_timeout_ms / 1000.0);
	ev_timer_stop(w->loop, &w->poll);
	for (int i = 0; i < w->nkinds; i++) {
		ev_timer_stop(w->loop, &w->kinds[i].followup_timer);
		ev_timer_stop(w->loop, &w->kinds[i].claim_retry);
	}
	ev_timer_set(&w->drain, w->cfg->drain_timeout_ms / 1000.0, 0.);
	ev_timer_start(w->loop, &w->drain);
	for (int i = 0; i < w->nkinds; i++)
		if (w->kinds[i].handler->drain)
			w->kinds[i].handler->drain(w);
	flush_group(w);
	flush_done(w);
	maybe_exit(w);
}

/* True while the worker drains: handlers stop starting new work (e.g. fan-out). */
bool worker_draining(const struct worker *w)
{
	return w->draining;
}

static void on_stop_signal(struct ev_loop *loop, ev_signal *s, int revents)
{
	struct worker *w = s->data;
	if (w->draining && s->signum == SIGINT) {
		on_drain_timeout(loop, &w->drain, 0); /* a second ^C: hand back now */
		return;
	}
	start_drain(w, s->signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void on_sighup(struct ev_loop *loop, ev_signal *s, int revents)
{
	log_debug("SIGHUP ignored by workers: the supervisor reloads and rolls them");
}

static void on_parent(struct ev_loop *loop, ev_io *io, int revents)
{
	struct worker *w = io->data;
	char c;
	if (read(io->fd, &c, 1) <= 0) {
		ev_io_stop(loop, io);
		start_drain(w, "supervisor is gone");
	}
}

static void on_sigquit(int sig)
{
	_exit(0); /* immediate stop: the supervisor hands our leases back */
}

/* ---- set-up ---- */

static int worker_init(struct worker *w, const struct worker_opts *o)
{
	w->cfg = o->cfg;
	w->id = o->worker_id;
	w->concurrency = o->cfg->workers[o->kind].concurrency;
	w->batch = o->cfg->batch_size;
	w->kinds = xcalloc((size_t)job_kind_count(), sizeof *w->kinds);
	for (int i = 0; i < job_kind_count(); i++) {
		if (!job_kind_run_by(i, o->kind))
			continue;
		struct kind_slot *k = &w->kinds[w->nkinds++];
		k->w = w;
		k->kind = i;
		k->handler = job_kinds[i].handler;
		k->ready = true;
		ev_init(&k->followup_timer, on_followup);
		k->followup_timer.data = k;
		ev_init(&k->claim_retry, on_claim_retry);
		k->claim_retry.data = k;
	}
	char *err = NULL;
	const char *url = o->cfg->database_url;
	const char *app = cfg_worker_kind_name(o->kind);
	char appname[64];
	snprintf(appname, sizeof appname, "pgkb-%s", app);
	if (pg_conninfo_init(&w->ci, url, o->cfg->database_url_from_env, appname, (long)o->cfg->connect_timeout_ms,
	                     &err) != 0) {
		log_error("%s", err);
		free(err);
		return -1;
	}
	return 0;
}

int worker_main(const struct worker_opts *o)
{
	/* Result requests carry page bodies: buffers of hundreds of KB, made and freed many times a second. Kept
	 * in the heap instead of mapped and unmapped each time (glibc's default above 128 KB), they cost no page
	 * faults. */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	struct sigaction sq = {.sa_handler = on_sigquit};
	sigaction(SIGQUIT, &sq, NULL);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	srand((unsigned)(time(NULL) ^ (getpid() << 16)));

	struct worker *w = xcalloc(1, sizeof *w);
	if (worker_init(w, o) != 0) {
		free(w->kinds);
		free(w);
		return 2;
	}
	w->stats_slot = stats_worker_attach(getpid(), (int)o->kind);
	w->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	/* The session timeouts (database.*): a stuck statement, a lock someone else holds or a transaction left
	 * open cannot stall a worker forever. Session-level, so the server applies them to every statement; the
	 * result writes raise statement_timeout for their own transaction (result_request). */
	char *setup_sql = xasprintf(
		"SELECT set_config('plan_cache_mode', 'force_generic_plan', false),"
		" set_config('enable_seqscan', 'off', false), set_config('jit', 'off', false),"
		" set_config('statement_timeout', '%lldms', false), set_config('lock_timeout', '%lldms', false),"
		" set_config('idle_in_transaction_session_timeout', '%lldms', false)",
		(long long)o->cfg->statement_timeout_ms, (long long)o->cfg->lock_timeout_ms,
		(long long)o->cfg->idle_in_transaction_timeout_ms);
	struct pg_pool_opts po = {
		.size = o->cfg->pool_size,
		/* A worker prepares each statement once per connection and runs it thousands of times, mostly over
		 * arrays whose length changes every time: custom plans (PostgreSQL's default) would plan nearly every
		 * execution again. Every statement a worker sends is an indexed OLTP statement that its generic plan
		 * serves well, but a generic plan is made once, at the first execution, when a fresh database's
		 * tables are tiny and a sequential scan looks cheapest (the body store by `id = ANY($1)` was planned
		 * as one, and kept scanning documents as the crawl filled it). So sequential scans are priced out:
		 * they remain where no index can serve, and nowhere else. The price they carry makes such a plan
		 * look costly enough to JIT-compile (hundreds of milliseconds of CPU for a statement that runs in
		 * one), and no worker statement is long enough to gain from JIT: it is off. */
		.setup_sql = setup_sql,
		.listen_sql = w->nkinds ? "LISTEN pgkb_jobs" : NULL,
		.on_notify = on_notify,
		.on_listen_ready = on_listen_ready,
		.arg = w,
	};
	w->pool = pool_new(w->loop, &w->ci, &po);
	free(setup_sql); /* each connection keeps its copy */
	maintenance_init(&w->maintenance, w->pool, w->cfg, on_maintenance_done, w);

	double poll = o->cfg->poll_interval_ms / 1000.0;
	ev_timer_init(&w->poll, on_poll, poll, poll);
	w->poll.data = w;
	if (w->nkinds)
		ev_timer_start(w->loop, &w->poll);
	double tick = o->cfg->lease_ms / 4000.0;
	tick = tick < 0.1 ? 0.1 : tick > 2.0 ? 2.0 : tick;
	ev_timer_init(&w->maint, on_maint, tick, tick);
	w->maint.data = w;
	ev_timer_start(w->loop, &w->maint);
	ev_init(&w->drain, on_drain_timeout);
	w->drain.data = w;
	ev_init(&w->hard_stop, on_hard_stop);
	ev_prepare_init(&w->flush, on_flush);
	w->flush.data = w;
	ev_prepare_start(w->loop, &w->flush);
	ev_signal_init(&w->sigterm, on_stop_signal, SIGTERM);
	ev_signal_init(&w->sigint, on_stop_signal, SIGINT);
	ev_signal_init(&w->sighup, on_sighup, SIGHUP);
	w->sigterm.data = w->sigint.data = w->sighup.data = w;
	ev_signal_start(w->loop, &w->sigterm);
	ev_signal_start(w->loop, &w->sigint);
	ev_signal_start(w->loop, &w->sighup);
	if (o->parent_fd >= 0) {
		ev_io_init(&w->parent, on_parent, o->parent_fd, EV_READ);
		w->parent.data = w;
		ev_io_start(w->loop, &w->parent);
	}
	int code = 0;
	for (int i = 0; i < w->nkinds; i++)
		if (w->kinds[i].handler->start && w->kinds[i].handler->start(w) != 0) {
			log_error("%s handler failed to start: fatal configuration error", job_kind_name(w->kinds[i].kind));
			code = 2;
		}
	log_info("worker %s started: kinds %d, concurrency %d, batch %d, database %s", w->id, w->nkinds,
	         w->concurrency, w->batch, w->ci.describe);

	if (code == 0)
		ev_run(w->loop, 0);

	log_info("worker stopped: %lld completed, %lld failed, %lld refused by the fence", w->completed, w->failed,
	         w->refused);
	w->stopping = true;
	flush_group(w); /* normally empty: the loop ends when nothing is in flight */
	for (int i = 0; i < w->nkinds; i++)
		if (w->kinds[i].handler->stop)
			w->kinds[i].handler->stop(w);
	pool_free(w->pool);
	for (int i = 0; i < w->nkinds; i++) {
		ev_timer_stop(w->loop, &w->kinds[i].followup_timer);
		ev_timer_stop(w->loop, &w->kinds[i].claim_retry);
	}
	ev_loop_destroy(w->loop);
	pg_conninfo_free(&w->ci);
	buf_free(&w->done.ids);
	buf_free(&w->done.attempts);
	free(w->done.items);
	stats_worker_release(getpid());
	free(w->kinds);
	free(w);
	return code;
}

struct ev_loop *worker_loop(const struct worker *w)
{
	return w->loop;
}

const struct cfg *worker_cfg(const struct worker *w)
{
	return w->cfg;
}

const char *worker_id(const struct worker *w)
{
	return w->id;
}

struct pg_pool *worker_pool(const struct worker *w)
{
	return w->pool;
}
