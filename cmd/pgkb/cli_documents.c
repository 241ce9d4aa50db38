/* pgkb documents: documents with their whole error, newest change first; and the recent failures of pgkb status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/pgkb/cli.h"

#define WRAP 100

static const char *const statuses[] = {"queued", "fetched", "chunked", "embedded", "ready",
                                       "failed", "skipped", "gone", NULL};

static int documents_usage(void)
{
	fprintf(stderr, "usage: pgkb documents [--source ID] [--status queued|fetched|chunked|embedded|ready|failed|"
	                "skipped|gone] [--job JOB_ID] [--limit N]   (N from 1 to 100000, default 50)\n");
	return 2;
}

static bool is_count(const char *s, long long max)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	return *s && !*end && v >= 1 && v <= max;
}

/* One document: a line with its id, status, source, last change and URL, then its error, whole. */
static void print_document(const PGresult *r, int i)
{
	printf("%s  %s  %s  %s  ", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3));
	cli_print_clean(stdout, PQgetvalue(r, i, 4));
	putchar('\n');
	if (!PQgetisnull(r, i, 5))
		cli_print_wrapped(stdout, PQgetvalue(r, i, 5), 4, WRAP, 0);
}

int cli_documents(struct cli *c, int argc, char **argv)
{
	const char *source = NULL, *status = NULL, *job = NULL, *limit = "50";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--source") == 0 && i + 1 < argc) {
			source = argv[++i];
		} else if (strcmp(argv[i], "--status") == 0 && i + 1 < argc) {
			status = argv[++i];
			bool known = false;
			for (size_t k = 0; statuses[k]; k++)
				known |= strcmp(status, statuses[k]) == 0;
			if (!known)
				return documents_usage();
		} else if (strcmp(argv[i], "--job") == 0 && i + 1 < argc && is_count(argv[i + 1], 999999999999999999LL)) {
			job = argv[++i];
		} else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc && is_count(argv[i + 1], 100000)) {
			limit = argv[++i];
		} else {
			return documents_usage();
		}
	}
	if (cli_connect(c) != 0)
		return 1;
	const char *params[4] = {source, status, job, limit};
	PGresult *r = cli_exec(c, "documents",
		"SELECT d.id, d.status, d.source_id, to_char(d.updated_at, 'YYYY-MM-DD HH24:MI:SS'), d.url, d.error"
		"  FROM pgkb.documents d"
		" WHERE ($1::text IS NULL OR d.source_id = $1) AND ($2::text IS NULL OR d.status = $2)"
		"   AND ($3::bigint IS NULL OR d.id IN (SELECT j.document_id FROM pgkb.job_documents($3::bigint) j))"
		" ORDER BY d.updated_at DESC, d.id DESC LIMIT $4::int", 4, params);
	if (!r)
		return 1;
	if (PQntuples(r) == 0)
		printf("no documents\n");
	for (int i = 0; i < PQntuples(r); i++)
		print_document(r, i);
	PQclear(r);
	return 0;
}

int cli_status_failures(struct cli *c)
{
	PGresult *docs = cli_exec(c, "status",
		"SELECT to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS'), source_id, url, coalesce(error, ''),"
		"       (SELECT count(*) FROM pgkb.documents WHERE status = 'failed')"
		"  FROM pgkb.documents WHERE status = 'failed' ORDER BY updated_at DESC LIMIT 5", 0, NULL);
	if (!docs)
		return 1;
	PGresult *jobs = cli_exec(c, "status",
		"SELECT id, kind, attempts, coalesce(last_error, '') FROM pgkb.jobs WHERE state = 'dead'"
		" ORDER BY id DESC LIMIT 5", 0, NULL);
	if (!jobs) {
		PQclear(docs);
		return 1;
	}
	if (PQntuples(docs) + PQntuples(jobs) > 0)
		printf("\nRecent failures\n");
	if (PQntuples(docs) > 0)
		printf("documents (%s failed; all: pgkb documents --status failed):\n", PQgetvalue(docs, 0, 4));
	for (int i = 0; i < PQntuples(docs); i++) {
		printf("  %s  %s  ", PQgetvalue(docs, i, 0), PQgetvalue(docs, i, 1));
		cli_print_clean(stdout, PQgetvalue(docs, i, 2));
		putchar('\n');
		cli_print_wrapped(stdout, PQgetvalue(docs, i, 3), 6, WRAP, 3);
	}
	if (PQntuples(jobs) > 0)
		printf("dead jobs (all: pgkb jobs --dead --full):\n");
	for (int i = 0; i < PQntuples(jobs); i++) {
		printf("  job %s (%s, %s attempts)\n", PQgetvalue(jobs, i, 0), PQgetvalue(jobs, i, 1), PQgetvalue(jobs, i, 2));
		cli_print_wrapped(stdout, PQgetvalue(jobs, i, 3), 6, WRAP, 3);
	}
	PQclear(docs);
	PQclear(jobs);
	return 0;
}
