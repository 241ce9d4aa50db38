/* pgkb sources | source show | source set | source delete: sources through the SQL functions of schema/083. */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/pgkb/cli.h"

static int source_usage(void)
{
	fprintf(stderr, "usage: pgkb source show ID\n"
	                "       pgkb source delete ID [--batch N]\n"
	                "       pgkb source set ID [--title T] [--tag X]... [--knowledge-type technical|business]"
	                " [--update-frequency DAYS]\n");
	return 2;
}

int cli_sources(struct cli *c, int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: pgkb sources\n");
		return 2;
	}
	if (cli_connect(c) != 0)
		return 1;
	PGresult *r = cli_exec(c, "sources",
		"SELECT source_id AS id, coalesce(title, '') AS title, type,"
		"       coalesce((SELECT string_agg(k || ' ' || v, ', ') FROM jsonb_each_text(documents) AS d(k, v)), '')"
		"         AS documents, chunks,"
		"       coalesce((SELECT string_agg(k || ' ' || v, ', ') FROM jsonb_each_text(vectors) AS m(k, v)), '')"
		"         AS vectors,"
		"       coalesce(to_char(last_crawl, 'YYYY-MM-DD HH24:MI') || ' ' || last_crawl_status, '') AS last_crawl,"
		"       coalesce(to_char(last_ingest, 'YYYY-MM-DD HH24:MI'), '') AS last_ingest,"
		"       CASE WHEN deleting THEN 'deleting' ELSE '' END AS state"
		"  FROM pgkb.source_list()",
		0, NULL);
	if (!r)
		return 1;
	if (PQntuples(r) == 0)
		printf("no sources\n");
	else
		cli_print_table(r);
	PQclear(r);
	return 0;
}

static int source_show(struct cli *c, const char *id)
{
	const char *p[1] = {id};
	PGresult *r = cli_exec(c, "source show", "SELECT * FROM pgkb.source_list($1)", 1, p);
	if (!r)
		return 1;
	if (PQntuples(r) == 0) {
		fprintf(stderr, "pgkb: source %s does not exist\n", id);
		PQclear(r);
		return 1;
	}
	for (int j = 0; j < PQnfields(r); j++)
		printf("%-18s %s\n", PQfname(r, j), PQgetvalue(r, 0, j));
	PQclear(r);
	printf("\nvectors (pgkb reembed --source %s brings rows of another model over):\n", id);
	if (cli_print_coverage(c, id) != 0)
		return 1;
	/* the documents that need attention, with the reason (bounded: a source may hold a million) */
	r = cli_exec(c, "source show",
		"SELECT status, url, coalesce(error, '') AS error FROM pgkb.documents"
		" WHERE source_id = $1 AND status = 'failed' ORDER BY updated_at DESC LIMIT 20",
		1, p);
	if (!r)
		return 1;
	if (PQntuples(r) > 0) {
		printf("\nfailed documents (the latest 20):\n");
		cli_print_table(r);
	}
	PQclear(r);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One pgkb.source_delete_step per transaction (autocommit), so no lock lives longer than a batch; a run that
 * is killed leaves the source marked, and running this again finishes it. */
static int source_delete(struct cli *c, const char *id, const char *batch)
{
	const char *p[2] = {id, batch};
	double t0 = now_s();
	long long rows = 0, steps = 0;
	for (;;) {
		PGresult *r = cli_exec(c, "source delete", "SELECT deleted, done FROM pgkb.source_delete_step($1, $2::int)", 2, p);
		if (!r)
			return 1;
		rows += strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		bool done = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
		PQclear(r);
		if (++steps == 1)
			printf("source %s: being deleted; its crawls and jobs are cancelled\n", id);
		else if (steps % 20 == 0)
			printf("source %s: %lld rows deleted\n", id, rows);
		fflush(stdout);
		if (done)
			break;
	}
	printf("source %s deleted: %lld rows in %lld transactions, %.1f s\n", id, rows, steps, now_s() - t0);
	return 0;
}

static int source_set(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"title", required_argument, NULL, 't'},          {"tag", required_argument, NULL, 'g'},
		{"knowledge-type", required_argument, NULL, 'k'}, {"update-frequency", required_argument, NULL, 'u'},
		{NULL, 0, NULL, 0},
	};
	const char *title = NULL, *ktype = NULL, *freq = NULL;
	json_t *tags = NULL;
	int o, bad = 0;
	optind = 1;
	while (!bad && (o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 't': title = optarg; break;
		case 'g': {
			json_t *t = json_string(optarg); /* NULL when not valid UTF-8 */
			if (!t) {
				fprintf(stderr, "pgkb: --tag: not valid UTF-8\n");
				bad = 2;
				break;
			}
			if (!tags)
				tags = json_array();
			json_array_append_new(tags, t);
			break;
		}
		case 'k': ktype = optarg; break;
		case 'u': freq = optarg; break;
		default: bad = 1;
		}
	}
	if (bad || argc - optind != 1 || (!title && !tags && !ktype && !freq)) {
		json_decref(tags);
		return bad == 2 ? 2 : source_usage();
	}
	if (cli_connect(c) != 0) {
		json_decref(tags);
		return 1;
	}
	char *tags_json = tags ? json_dumps(tags, JSON_COMPACT) : NULL;
	json_decref(tags);
	const char *p[5] = {argv[optind], title, tags_json, ktype, freq};
	PGresult *r = cli_exec(c, "source set",
		"SELECT pgkb.source_set($1, $2, CASE WHEN $3::jsonb IS NOT NULL"
		" THEN ARRAY(SELECT jsonb_array_elements_text($3::jsonb)) END, $4, $5::numeric)",
		5, p);
	free(tags_json);
	if (!r)
		return 1;
	bool found = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (!found) {
		fprintf(stderr, "pgkb: source %s does not exist\n", argv[optind]);
		return 1;
	}
	printf("source %s updated\n", argv[optind]);
	return 0;
}

int cli_source(struct cli *c, int argc, char **argv)
{
	if (argc < 3)
		return source_usage();
	const char *sub = argv[1];
	if (strcmp(sub, "set") == 0)
		return source_set(c, argc - 1, argv + 1);
	if (strcmp(sub, "show") == 0 && argc == 3) {
		if (cli_connect(c) != 0)
			return 1;
		return source_show(c, argv[2]);
	}
	if (strcmp(sub, "delete") == 0 && (argc == 3 || (argc == 5 && strcmp(argv[3], "--batch") == 0))) {
		const char *batch = argc == 5 ? argv[4] : "5000";
		char *end;
		long b = strtol(batch, &end, 10);
		if (!*batch || *end || b < 1 || b > 1000000) {
			fprintf(stderr, "pgkb: --batch: expected an integer from 1 to 1000000, got \"%s\"\n", batch);
			return 2;
		}
		if (cli_connect(c) != 0)
			return 1;
		return source_delete(c, argv[2], batch);
	}
	return source_usage();
}
