/* pgkb enqueue | status | jobs | retry | cancel: the queue from the command line. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/pgkb/cli.h"

static const char *const enqueue_sql =
	"INSERT INTO pgkb.jobs (kind, payload, priority, run_at, max_attempts, dedupe_key) "
	"VALUES ($1, $2::jsonb, coalesce($3::smallint, 0), coalesce($4::timestamptz, now()),"
	"        coalesce($5::int, 5), $6) RETURNING id";

static int enqueue_job(struct cli *c, int argc, char **argv);

int cli_enqueue(struct cli *c, int argc, char **argv)
{
	bool wait;
	int64_t timeout_ms;
	if (cli_take_wait_opts(&argc, argv, &wait, &timeout_ms) != 0)
		return 2;
	int rc;
	/* Shorthands that build the payload: pgkb enqueue crawl URL …, pgkb enqueue ingest PATH … */
	if (argc >= 3 && argv[2][0] != '{' && strcmp(argv[1], "crawl") == 0)
		rc = cli_enqueue_crawl(c, argc - 1, argv + 1);
	else if (argc >= 3 && argv[2][0] != '{' && strcmp(argv[1], "ingest") == 0)
		rc = cli_enqueue_ingest(c, argc - 1, argv + 1);
	else
		rc = enqueue_job(c, argc, argv);
	if (rc == 0 && wait && c->n_enqueued > 0) {
		fflush(stdout); /* the ids first, for a script that reads them */
		rc = cli_wait_jobs(c, c->enqueued, c->n_enqueued, timeout_ms);
	}
	free(c->enqueued);
	c->enqueued = NULL;
	c->n_enqueued = 0;
	return rc;
}

static int enqueue_job(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"priority", required_argument, NULL, 'p'}, {"run-at", required_argument, NULL, 'r'},
		{"max-attempts", required_argument, NULL, 'm'}, {"dedupe", required_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};
	const char *prio = NULL, *run_at = NULL, *max = NULL, *dedupe = NULL;
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'p': prio = optarg; break;
		case 'r': run_at = optarg; break;
		case 'm': max = optarg; break;
		case 'd': dedupe = optarg; break;
		default: return 2;
		}
	}
	if (argc - optind < 1 || argc - optind > 2) {
		fprintf(stderr, "usage: pgkb enqueue KIND [JSON] [--priority N] [--run-at TIME] [--max-attempts N] "
		                "[--dedupe KEY] [--wait [--timeout DURATION]]\n");
		return 2;
	}
	if (cli_connect(c) != 0)
		return 1;
	const char *params[6] = {argv[optind], argc - optind == 2 ? argv[optind + 1] : "{}", prio, run_at, max, dedupe};
	PGresult *r = cli_exec(c, "enqueue", enqueue_sql, 6, params);
	if (!r)
		return 1;
	if (PQntuples(r) == 0)
		fprintf(stderr, "pgkb: not enqueued: an active job with dedupe key \"%s\" exists\n", dedupe);
	else {
		printf("%s\n", PQgetvalue(r, 0, 0));
		cli_note_enqueued(c, PQgetvalue(r, 0, 0));
	}
	PQclear(r);
	return 0;
}

int cli_status(struct cli *c, int argc, char **argv)
{
	int watch = argc > 1 && strcmp(argv[1], "--watch") == 0;
	if (cli_connect(c) != 0)
		return 1;
	if (watch)
		return cli_status_crawls(c, 1);
	PGresult *r = cli_exec(c, "status",
		"SELECT kind, state, count(*) AS jobs,"
		"       coalesce(to_char(justify_interval(date_trunc('second', now() - min(run_at)"
		"                FILTER (WHERE state = 'queued' AND run_at <= now()))), 'FMHH24:MI:SS'), '') AS oldest_ready,"
		"       count(*) FILTER (WHERE state = 'queued' AND run_at > now()) AS scheduled"
		"  FROM pgkb.jobs GROUP BY kind, state ORDER BY kind, state", 0, NULL);
	if (!r)
		return 1;
	printf("Queue\n");
	if (PQntuples(r) == 0)
		printf("(empty)\n");
	else
		cli_print_table(r);
	PQclear(r);
	r = cli_exec(c, "status",
		"SELECT kind, state, count(*) AS last_hour,"
		"       round(avg(extract(epoch FROM finished_at - started_at)) * 1000)::bigint AS avg_run_ms"
		"  FROM pgkb.job_history WHERE finished_at > now() - interval '1 hour'"
		" GROUP BY kind, state ORDER BY kind, state", 0, NULL);
	if (!r)
		return 1;
	printf("\nFinished in the last hour\n");
	if (PQntuples(r) == 0)
		printf("(none)\n");
	else
		cli_print_table(r);
	PQclear(r);
	r = cli_exec(c, "status", "SELECT count(*) FROM pgkb.jobs WHERE state = 'dead'", 0, NULL);
	if (!r)
		return 1;
	printf("\nDead jobs: %s%s\n", PQgetvalue(r, 0, 0),
	       strcmp(PQgetvalue(r, 0, 0), "0") ? " (pgkb jobs --dead; pgkb retry ID)" : "");
	PQclear(r);
	if (cli_status_documents(c) != 0 || cli_status_crawls(c, 0) != 0 || cli_status_vectors(c) != 0 ||
	    cli_status_failures(c) != 0)
		return 1;
	return 0;
}

/* pgkb jobs --full: each job on a line, then its payload (cut) and its whole last error, wrapped. */
static void print_jobs_full(const PGresult *r)
{
	for (int i = 0; i < PQntuples(r); i++) {
		printf("%s  %s  %s  attempts %s  run_at %s", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
		       PQgetvalue(r, i, 3), PQgetvalue(r, i, 4));
		if (*PQgetvalue(r, i, 5))
			printf("  worker %s", PQgetvalue(r, i, 5));
		printf("\n    payload: ");
		cli_print_clean(stdout, PQgetvalue(r, i, 6));
		putchar('\n');
		if (*PQgetvalue(r, i, 7)) {
			printf("    last_error:\n");
			cli_print_wrapped(stdout, PQgetvalue(r, i, 7), 6, 100, 0);
		}
	}
}

int cli_jobs(struct cli *c, int argc, char **argv)
{
	const char *state = NULL, *kind = NULL, *limit = "50";
	bool full = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dead") == 0 || strcmp(argv[i], "--failed") == 0)
			state = "dead";
		else if (strcmp(argv[i], "--running") == 0)
			state = "running";
		else if (strcmp(argv[i], "--queued") == 0)
			state = "queued";
		else if (strcmp(argv[i], "--full") == 0)
			full = true;
		else if (strcmp(argv[i], "--kind") == 0 && i + 1 < argc)
			kind = argv[++i];
		else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc)
			limit = argv[++i];
		else {
			fprintf(stderr, "usage: pgkb jobs [--dead|--running|--queued] [--kind KIND] [--limit N] [--full]\n");
			return 2;
		}
	}
	if (cli_connect(c) != 0)
		return 1;
	const char *params[4] = {state, kind, limit, full ? "300" : "40"};
	/* The table cuts errors at 80 characters (its widest column); --full prints them whole, and the payload
	 * up to 300 characters (an inline document's payload holds the whole text). */
	PGresult *r = cli_exec(c, "jobs",
		"SELECT id, kind, state, attempts || '/' || max_attempts AS attempts,"
		"       to_char(run_at, 'YYYY-MM-DD HH24:MI:SS') AS run_at, coalesce(lease_owner, '') AS worker,"
		"       left(payload::text, $4::int) AS payload, coalesce(last_error, '') AS last_error"
		"  FROM pgkb.jobs WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR kind = $2)"
		" ORDER BY id LIMIT $3::int", 4, params);
	if (!r)
		return 1;
	bool cut = false;
	for (int i = 0; i < PQntuples(r); i++)
		cut |= strlen(PQgetvalue(r, i, 7)) > 80;
	if (PQntuples(r) == 0) {
		printf("no %s jobs\n", state ? state : "active");
	} else if (full) {
		print_jobs_full(r);
	} else {
		cli_print_table(r);
		if (cut)
			printf("(errors cut at 80 characters: pgkb jobs --full prints them whole)\n");
	}
	PQclear(r);
	return 0;
}

static const char *job_id_arg(int argc, char **argv, const char *cmd)
{
	if (argc != 2 || strspn(argv[1], "0123456789") != strlen(argv[1]) || !*argv[1]) {
		fprintf(stderr, "usage: pgkb %s JOB_ID\n", cmd);
		return NULL;
	}
	return argv[1];
}

/* Explains why a job id matched nothing active. */
static void explain_missing(struct cli *c, const char *id)
{
	const char *params[1] = {id};
	PGresult *r = cli_exec(c, "looking up the job",
		"SELECT state, to_char(finished_at, 'YYYY-MM-DD HH24:MI:SS') FROM pgkb.job_history WHERE id = $1::bigint"
		" ORDER BY finished_at DESC LIMIT 1", 1, params);
	if (r && PQntuples(r) == 1)
		fprintf(stderr, "pgkb: job %s already finished (%s at %s)\n", id, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
	else if (r)
		fprintf(stderr, "pgkb: no job %s\n", id);
	PQclear(r);
}

int cli_retry(struct cli *c, int argc, char **argv)
{
	const char *id = job_id_arg(argc, argv, "retry");
	if (!id)
		return 2;
	if (cli_connect(c) != 0)
		return 1;
	const char *params[1] = {id};
	PGresult *r = cli_exec(c, "retry",
		"WITH j AS (UPDATE pgkb.jobs SET state = 'queued', attempts = 0, run_at = now()"
		"            WHERE id = $1::bigint AND state IN ('dead', 'queued') RETURNING kind)"
		"SELECT kind, pg_notify('pgkb_jobs', kind) FROM j", 1, params);
	if (!r)
		return 1;
	int n = PQntuples(r);
	PQclear(r);
	if (n == 1) {
		printf("job %s queued to run now\n", id);
		return 0;
	}
	r = cli_exec(c, "retry", "SELECT lease_owner FROM pgkb.jobs WHERE id = $1::bigint", 1, params);
	if (r && PQntuples(r) == 1)
		fprintf(stderr, "pgkb: job %s is running on %s; nothing to retry\n", id, PQgetvalue(r, 0, 0));
	else if (r)
		explain_missing(c, id);
	PQclear(r);
	return 1;
}

int cli_cancel(struct cli *c, int argc, char **argv)
{
	const char *id = job_id_arg(argc, argv, "cancel");
	if (!id)
		return 2;
	if (cli_connect(c) != 0)
		return 1;
	const char *params[1] = {id};
	PGresult *r = cli_exec(c, "cancel",
		"WITH gone AS (DELETE FROM pgkb.jobs WHERE id = $1::bigint RETURNING *) "
		"INSERT INTO pgkb.job_history (id, kind, payload, priority, state, attempts, last_error, worker,"
		"                              created_at, started_at)"
		"SELECT id, kind, payload, priority, 'cancelled', attempts, last_error, lease_owner, created_at, started_at"
		"  FROM gone RETURNING worker", 1, params);
	if (!r)
		return 1;
	int n = PQntuples(r);
	if (n == 1 && !PQgetisnull(r, 0, 0))
		printf("job %s cancelled; it was running on %s, whose result will be discarded\n", id, PQgetvalue(r, 0, 0));
	else if (n == 1)
		printf("job %s cancelled\n", id);
	PQclear(r);
	if (n == 0) {
		explain_missing(c, id);
		return 1;
	}
	return 0;
}
