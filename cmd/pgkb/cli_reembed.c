/* pgkb reembed: re-embeds, with the configured embedding model, the rows that carry another model's or
 * dimension's vectors, through reembed jobs (pgkb.reembed, schema/087); and the vectors section of pgkb status
 * (coverage per model and dimension, runs under way). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/pgkb/cli.h"
#include "lib/embed/embed.h"
#include "lib/embed/embed_builtin.h"

#define POLL_MS 1000

/* The model name the embed workers store with their vectors (workers/embed/embed_provider.c). */
static const char *configured_model(const struct cfg *cfg)
{
	return embed_provider_parse(cfg->embed_provider) == EMBED_PROVIDER_BUILTIN ? EMBED_BUILTIN_MODEL
	                                                                            : cfg->embed_model;
}

enum { R_ID, R_SOURCE, R_MODEL, R_DIM, R_STARTED, R_TOTAL, R_DONE, R_JOBS, R_PENDING, R_DEAD, R_FINAL };

static const char *const progress_sql =
	"SELECT reembed_id, coalesce(source_id, ''), model, dimension, started_at, coalesce(total, 0), done, jobs,"
	"       jobs_pending, jobs_dead, final FROM pgkb.reembed_progress($1::bigint)";

static void print_progress(const PGresult *r, int i)
{
	long long total = atoll(PQgetvalue(r, i, R_TOTAL)), done = atoll(PQgetvalue(r, i, R_DONE));
	printf("re-embed %s to %s (%s)%s%s: %lld/%lld rows (%.0f%%), %s of %s jobs queued or running", PQgetvalue(r, i, R_ID),
	       PQgetvalue(r, i, R_MODEL), PQgetvalue(r, i, R_DIM), *PQgetvalue(r, i, R_SOURCE) ? ", source " : "",
	       PQgetvalue(r, i, R_SOURCE), done, total, total ? 100.0 * (double)done / (double)total : 100.0,
	       PQgetvalue(r, i, R_PENDING), PQgetvalue(r, i, R_JOBS));
	if (strcmp(PQgetvalue(r, i, R_DEAD), "0") != 0)
		printf(", %s dead (pgkb jobs --dead)", PQgetvalue(r, i, R_DEAD));
	putchar('\n');
}

int cli_print_coverage(struct cli *c, const char *source)
{
	const char *params[1] = {source};
	PGresult *r = cli_exec(c, "vector coverage",
		"SELECT CASE tbl WHEN 'pages' THEN 'chunks' ELSE 'code examples' END AS \"table\","
		"       coalesce(model, '(none)') AS model, coalesce(dimension::text, '') AS dimension, rows,"
		"       share || '%' AS share"
		"  FROM pgkb.vector_coverage($1)", 1, params);
	if (!r)
		return -1;
	if (PQntuples(r) == 0)
		printf("(no chunks or code examples)\n");
	else
		cli_print_table(r);
	PQclear(r);
	return 0;
}

/* Waits for run id to be final, printing its progress when it changes; exit code 0, 1 (dead jobs), 3 (timed
 * out). */
static int wait_run(struct cli *c, const char *id, int64_t timeout_ms)
{
	const char *params[1] = {id};
	char last[64] = "";
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		PGresult *r = cli_exec(c, "reembed", progress_sql, 1, params);
		if (!r)
			return 1;
		if (PQntuples(r) == 0) {
			PQclear(r);
			fprintf(stderr, "pgkb: reembed: run %s has no jobs (pruned from the history?)\n", id);
			return 1;
		}
		char now[64];
		snprintf(now, sizeof now, "%s/%s/%s", PQgetvalue(r, 0, R_DONE), PQgetvalue(r, 0, R_PENDING),
		         PQgetvalue(r, 0, R_DEAD));
		bool final = strcmp(PQgetvalue(r, 0, R_FINAL), "t") == 0;
		if (strcmp(now, last) != 0 || final) {
			print_progress(r, 0);
			fflush(stdout);
			snprintf(last, sizeof last, "%s", now);
		}
		bool dead = strcmp(PQgetvalue(r, 0, R_DEAD), "0") != 0;
		PQclear(r);
		if (final)
			return dead ? 1 : 0;
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		int64_t ms = (int64_t)(t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (timeout_ms >= 0 && ms >= timeout_ms) {
			fprintf(stderr, "pgkb: reembed: timed out; the run goes on (pgkb status)\n");
			return 3;
		}
		usleep(POLL_MS * 1000);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: pgkb reembed [--source ID] [--all] [--batch N] [--wait [--timeout D]]\n"
	                "  re-embeds with the configured embed.model/embed.dimension the chunks and code examples that\n"
	                "  carry another model's or dimension's vectors (--all: every row that has a vector)\n");
}

int cli_reembed(struct cli *c, int argc, char **argv)
{
	bool wait = false;
	int64_t timeout_ms = -1;
	if (cli_take_wait_opts(&argc, argv, &wait, &timeout_ms) != 0)
		return 2;
	const char *source = NULL, *batch = "200";
	bool force = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--source") == 0 && i + 1 < argc) {
			source = argv[++i];
		} else if (strcmp(argv[i], "--all") == 0 || strcmp(argv[i], "--force") == 0) {
			force = true;
		} else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
			batch = argv[++i];
		} else {
			usage();
			return 2;
		}
	}
	if (cli_connect(c) != 0)
		return 1;
	char dim[16];
	snprintf(dim, sizeof dim, "%d", c->cfg.embed_dimension);
	const char *model = configured_model(&c->cfg);
	const char *params[5] = {model, dim, source, force ? "true" : "false", batch};
	PGresult *r = cli_exec(c, "reembed",
		"SELECT pgkb.reembed($1, $2::int, $3, $4::boolean, $5::int)", 5, params);
	if (!r)
		return 1;
	if (PQgetisnull(r, 0, 0)) {
		PQclear(r);
		printf("nothing to re-embed: every vector%s%s is from %s (%s)\n", source ? " of source " : "",
		       source ? source : "", model, dim);
		return cli_print_coverage(c, source) == 0 ? 0 : 1;
	}
	char id[32];
	snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	const char *p1[1] = {id};
	r = cli_exec(c, "reembed", progress_sql, 1, p1);
	if (!r)
		return 1;
	if (PQntuples(r) > 0)
		print_progress(r, 0);
	PQclear(r);
	if (!wait) {
		printf("the embed workers run it in the background: pgkb status shows its progress\n");
		return 0;
	}
	return wait_run(c, id, timeout_ms);
}

int cli_status_vectors(struct cli *c)
{
	printf("\nVectors\n");
	if (cli_print_coverage(c, NULL) != 0)
		return 1;
	char dim[16];
	snprintf(dim, sizeof dim, "%d", c->cfg.embed_dimension);
	const char *params[2] = {configured_model(&c->cfg), dim};
	PGresult *r = cli_exec(c, "status",
		"SELECT coalesce(sum(rows), 0) FROM pgkb.vector_coverage(NULL)"
		" WHERE model IS NOT NULL AND (model <> $1 OR dimension <> $2::int)", 2, params);
	if (!r)
		return 1;
	if (strcmp(PQgetvalue(r, 0, 0), "0") != 0)
		printf("%s rows carry another model than the configured %s (%s); searches with it do not find them: "
		       "`pgkb reembed` re-embeds them\n", PQgetvalue(r, 0, 0), params[0], dim);
	PQclear(r);
	const char *none[1] = {NULL};
	r = cli_exec(c, "status", progress_sql, 1, none);
	if (!r)
		return 1;
	for (int i = 0; i < PQntuples(r); i++)
		print_progress(r, i);
	PQclear(r);
	return 0;
}
