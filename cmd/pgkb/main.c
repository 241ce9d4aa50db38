/* pgkb: the command-line interface (migrate, enqueue, status, jobs, retry, cancel). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/pgkb/cli.h"

extern char **environ;

static const struct {
	const char *name;
	int (*run)(struct cli *c, int argc, char **argv);
	const char *help;
} commands[] = {
	{"migrate", cli_migrate, "migrate [--status]            apply pending schema migrations, or list them"},
	{"enqueue", cli_enqueue, "enqueue KIND [JSON] [opts]    add a job (--priority, --run-at, --max-attempts, --dedupe, --wait)"},
	{"status", cli_status, "status                        jobs per kind and state, oldest ready age, dead count"},
	{"jobs", cli_jobs, "jobs [--dead|--running|...] [--full]  list jobs with their last error (--full: whole)"},
	{"wait", cli_wait, "wait JOB_ID… [--timeout D]    until the jobs' documents are final; non-zero if any failed"},
	{"documents", cli_documents, "documents [--status S] [--source ID] [--job ID] [--limit N]  documents with their whole error"},
	{"retry", cli_retry, "retry ID                      run a dead (or scheduled) job again now"},
	{"cancel", cli_cancel, "cancel ID                     remove a job; a running job's result is discarded"},
	{"sources", cli_sources, "sources                       sources: documents by status, chunks, vectors, last crawl"},
	{"source", cli_source, "source show|delete|set ID     one source; delete cancels its jobs, then removes it in batches"},
	{"reembed", cli_reembed, "reembed [--source ID] [--all] [--wait]  re-embed rows of another model with the configured one"},
	{"import", cli_import, "import sqlite FILE [--map M]    copy conversations and documents from SQLite (resumable)"},
	{"search", cli_search, "search \"QUERY\" [-k N] [--source ID] [--code]  hybrid search of chunks (or code examples)"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: pgkb [-c pgkb.yaml] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  pgkb %s\n", commands[i].help);
	fprintf(f, "\nThe database comes from database.url in the config, DATABASE_URL, or the PG* variables.\n");
}

int main(int argc, char **argv)
{
	const char *path = getenv("PGKB_CONFIG");
	int i = 1;
	while (i < argc && argv[i][0] == '-') {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
			path = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
		if (strcmp(argv[i], commands[k].name) != 0)
			continue;
		struct cli c = {0};
		char *err = NULL;
		if (cfg_load(&c.cfg, path && *path ? path : NULL, environ, &err) != 0) {
			fprintf(stderr, "pgkb: %s\n", err);
			free(err);
			return 2;
		}
		int rc = commands[k].run(&c, argc - i, argv + i);
		if (c.db)
			PQfinish(c.db);
		cfg_free(&c.cfg);
		return rc;
	}
	fprintf(stderr, "pgkb: unknown command \"%s\"\n\n", argv[i]);
	usage(stderr);
	return 2;
}
