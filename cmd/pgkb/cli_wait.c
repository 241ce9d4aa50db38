/* pgkb wait JOB_ID… and pgkb enqueue … --wait: until every document of the jobs is final (schema/085).
 * LISTEN first, then ask pgkb.job_progress, then wait for a notification on pgkb_documents, so no change between
 * the question and the wait is missed. Job state changes (a job dying, a crawl ending) send no notification on
 * that channel, so the progress is asked again at least every second as well. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/pgkb/cli.h"
#include "lib/util/duration.h"
#include "lib/util/mem.h"

#define RECHECK_MS 1000      /* progress asked at least this often */
#define MIN_RECHECK_MS 200   /* and at most this often, however many documents finish */
#define MAX_WAIT_JOBS 10000  /* job ids one command waits for */
#define FAILURES_SHOWN 20    /* failed documents and dead jobs printed per job */
#define WRAP 100

enum { P_JOB, P_KIND, P_STATE, P_JOBS, P_PENDING, P_DEAD, P_DOCS, P_QUEUED, P_FETCHED, P_CHUNKED, P_EMBEDDED,
       P_READY, P_FAILED, P_SKIPPED, P_GONE, P_CRAWLS, P_FINAL };

static const char *const progress_sql =
	"SELECT job_id, kind, state, jobs, jobs_pending, jobs_dead, documents, queued, fetched, chunked, embedded,"
	"       ready, failed, skipped, gone, crawls_running, final FROM pgkb.job_progress($1::bigint)";

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void cli_note_enqueued(struct cli *c, const char *id)
{
	c->enqueued = xrealloc(c->enqueued, (c->n_enqueued + 1) * sizeof *c->enqueued);
	c->enqueued[c->n_enqueued++] = atoll(id);
}

int cli_take_wait_opts(int *argc, char **argv, bool *wait, int64_t *timeout_ms)
{
	*wait = false;
	*timeout_ms = -1;
	int out = 0;
	for (int i = 0; i < *argc; i++) {
		if (strcmp(argv[i], "--wait") == 0) {
			*wait = true;
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < *argc) {
			if (duration_parse(argv[i + 1], timeout_ms) != 0) {
				fprintf(stderr, "pgkb: --timeout: expected a duration such as 30s, 5m or 1h, got \"%s\"\n",
				        argv[i + 1]);
				return -1;
			}
			i++;
		} else {
			argv[out++] = argv[i];
		}
	}
	if (*timeout_ms >= 0 && !*wait) {
		fprintf(stderr, "pgkb: --timeout applies to --wait\n");
		return -1;
	}
	*argc = out;
	argv[out] = NULL;
	return 0;
}

/* Waits up to ms for input on the connection and drops the notifications that came: their only news is that
 * something may have changed. -1 when the connection broke. */
static int wait_input(struct cli *c, int64_t ms)
{
	struct pollfd p = {.fd = PQsocket(c->db), .events = POLLIN};
	int n = poll(&p, 1, ms < 0 ? 0 : (int)ms);
	if (n < 0 && errno != EINTR)
		return -1;
	if (n > 0 && !PQconsumeInput(c->db))
		return -1;
	PGnotify *note;
	while ((note = PQnotifies(c->db)))
		PQfreemem(note);
	return 0;
}

/* The job's progress row, or NULL after printing why (an unknown job). */
static PGresult *progress(struct cli *c, long long id)
{
	char s[32];
	snprintf(s, sizeof s, "%lld", id);
	const char *params[1] = {s};
	return cli_exec(c, "wait", progress_sql, 1, params);
}

static long long num(const PGresult *r, int col)
{
	return atoll(PQgetvalue(r, 0, col));
}

static void print_summary(const PGresult *r, const char *prefix)
{
	printf("%sjob %s (%s, %s): %lld documents: %lld ready, %lld failed, %lld skipped, %lld gone", prefix,
	       PQgetvalue(r, 0, P_JOB), PQgetvalue(r, 0, P_KIND), PQgetvalue(r, 0, P_STATE), num(r, P_DOCS),
	       num(r, P_READY), num(r, P_FAILED), num(r, P_SKIPPED), num(r, P_GONE));
	long long waiting = num(r, P_QUEUED) + num(r, P_FETCHED) + num(r, P_CHUNKED) + num(r, P_EMBEDDED);
	if (waiting)
		printf(", %lld not final (%lld queued, %lld fetched, %lld chunked, %lld embedded)", waiting,
		       num(r, P_QUEUED), num(r, P_FETCHED), num(r, P_CHUNKED), num(r, P_EMBEDDED));
	if (num(r, P_PENDING))
		printf(", %lld jobs queued or running", num(r, P_PENDING));
	if (num(r, P_DEAD))
		printf(", %lld dead jobs", num(r, P_DEAD));
	putchar('\n');
}

/* Prints the failed documents and dead jobs of a job with their whole errors. */
static int print_failures(struct cli *c, const PGresult *prog)
{
	const char *params[2] = {PQgetvalue(prog, 0, P_JOB), NULL};
	char limit[16];
	snprintf(limit, sizeof limit, "%d", FAILURES_SHOWN);
	params[1] = limit;
	PGresult *r = cli_exec(c, "wait",
		"SELECT job_id, kind, coalesce(last_error, '') FROM pgkb.job_tree($1::bigint)"
		" WHERE state = 'dead' ORDER BY job_id LIMIT $2::int", 2, params);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		printf("  dead job %s (%s):\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
		cli_print_wrapped(stdout, PQgetvalue(r, i, 2), 6, WRAP, 0);
	}
	if (num(prog, P_DEAD) > PQntuples(r))
		printf("  … %lld more dead jobs\n", num(prog, P_DEAD) - PQntuples(r));
	PQclear(r);
	r = cli_exec(c, "wait",
		"SELECT document_id, url, coalesce(error, '') FROM pgkb.job_documents($1::bigint)"
		" WHERE status = 'failed' ORDER BY document_id LIMIT $2::int", 2, params);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		printf("  failed document %s: ", PQgetvalue(r, i, 0));
		cli_print_clean(stdout, PQgetvalue(r, i, 1));
		putchar('\n');
		cli_print_wrapped(stdout, PQgetvalue(r, i, 2), 6, WRAP, 0);
	}
	if (num(prog, P_FAILED) > PQntuples(r))
		printf("  … %lld more: pgkb documents --job %s --status failed\n", num(prog, P_FAILED) - PQntuples(r),
		       PQgetvalue(prog, 0, P_JOB));
	PQclear(r);
	return 0;
}

int cli_wait_jobs(struct cli *c, const long long *ids, size_t n, int64_t timeout_ms)
{
	PGresult *r = cli_exec(c, "wait", "LISTEN pgkb_documents", 0, NULL);
	if (!r)
		return 1;
	PQclear(r);
	PGresult **done = xcalloc(n ? n : 1, sizeof *done);
	int64_t start = now_ms(), last = 0;
	int rc = 0;
	for (;;) {
		int64_t asked = now_ms();
		size_t pending = 0;
		for (size_t i = 0; i < n && rc == 0; i++) {
			if (done[i])
				continue;
			r = progress(c, ids[i]);
			if (!r) {
				rc = 1;
			} else if (strcmp(PQgetvalue(r, 0, P_FINAL), "t") == 0) {
				done[i] = r;
			} else {
				PQclear(r);
				pending++;
			}
		}
		last = now_ms();
		if (rc != 0 || pending == 0)
			break;
		if (timeout_ms >= 0 && last - start >= timeout_ms) {
			rc = 3;
			break;
		}
		/* sleep until a notification or RECHECK_MS, then at least until MIN_RECHECK_MS since the last check;
		 * both at least twice as long as the check took (a directory of 20,000 files: about 0.5 s), so a
		 * waiter never keeps the server busy */
		int64_t gap = 2 * (last - asked) > MIN_RECHECK_MS ? 2 * (last - asked) : MIN_RECHECK_MS;
		int64_t most = gap > RECHECK_MS ? gap : RECHECK_MS;
		int64_t cap = timeout_ms >= 0 ? start + timeout_ms - last : most;
		int64_t wait = cap < most ? cap : most;
		if (wait_input(c, wait) != 0 ||
		    (now_ms() - last < gap && wait_input(c, gap - (now_ms() - last)) != 0)) {
			fprintf(stderr, "pgkb: wait: %s", PQerrorMessage(c->db));
			rc = 1;
			break;
		}
	}
	bool failed = false;
	for (size_t i = 0; i < n; i++) {
		if (!done[i]) {
			if (rc != 3)
				continue;
			/* timed out: say where the job stands */
			r = progress(c, ids[i]);
			if (r)
				print_summary(r, "not final: ");
			PQclear(r);
			continue;
		}
		print_summary(done[i], "");
		if (num(done[i], P_FAILED) > 0 || num(done[i], P_DEAD) > 0) {
			failed = true;
			if (print_failures(c, done[i]) != 0)
				rc = 1;
		}
		PQclear(done[i]);
	}
	free(done);
	if (rc == 3)
		fprintf(stderr, "pgkb: wait: timed out after %.1f s\n", (double)(now_ms() - start) / 1000);
	return rc != 0 ? rc : failed ? 1 : 0;
}

int cli_wait(struct cli *c, int argc, char **argv)
{
	int64_t timeout_ms = -1;
	long long *ids = xcalloc((size_t)argc, sizeof *ids);
	size_t n = 0;
	int bad = 0;
	for (int i = 1; i < argc && !bad; i++) {
		if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			bad = duration_parse(argv[++i], &timeout_ms) != 0;
		} else if (*argv[i] && strspn(argv[i], "0123456789") == strlen(argv[i]) && strlen(argv[i]) <= 18 &&
		           n < MAX_WAIT_JOBS) {
			ids[n++] = atoll(argv[i]);
		} else {
			bad = 1;
		}
	}
	if (bad || n == 0) {
		fprintf(stderr, "usage: pgkb wait JOB_ID… [--timeout DURATION]   (at most %d jobs; DURATION like 30s, "
		                "5m, 1h)\n", MAX_WAIT_JOBS);
		free(ids);
		return 2;
	}
	int rc = cli_connect(c) != 0 ? 1 : cli_wait_jobs(c, ids, n, timeout_ms);
	free(ids);
	return rc;
}
