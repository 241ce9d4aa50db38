/* pgkb CLI: shared helpers and the sub-commands. */
#ifndef PGKB_CLI_H
#define PGKB_CLI_H

#include <libpq-fe.h>

#include "lib/cfg/cfg.h"

struct cli {
	struct cfg cfg;
	PGconn *db;
};

/* Connects with the configured DSN (PG* and DATABASE_URL apply); prints the error and returns -1 on failure. */
int cli_connect(struct cli *c);
/* Runs a parameterised statement; prints "pgkb: <what>: <error>" and returns NULL on failure. */
PGresult *cli_exec(struct cli *c, const char *what, const char *sql, int n, const char *const *params);
/* Prints rows as aligned columns with a header. */
void cli_print_table(const PGresult *r);

int cli_migrate(struct cli *c, int argc, char **argv);
int cli_enqueue(struct cli *c, int argc, char **argv);
int cli_status(struct cli *c, int argc, char **argv);
int cli_jobs(struct cli *c, int argc, char **argv);
int cli_retry(struct cli *c, int argc, char **argv);
int cli_cancel(struct cli *c, int argc, char **argv);
/* pgkb search "QUERY" [-k N] [--source ID] [--code] (cli_search.c) */
int cli_search(struct cli *c, int argc, char **argv);
/* pgkb enqueue crawl URL [--depth N] [--max-pages N] [--include GLOB] [--exclude GLOB] (cli_crawl.c) */
int cli_enqueue_crawl(struct cli *c, int argc, char **argv);
/* The crawls section of pgkb status: each crawl's progress (cli_crawl.c). watch: refresh until done. */
int cli_status_crawls(struct cli *c, int watch);
/* pgkb enqueue ingest PATH… (cli_ingest.c) */
int cli_enqueue_ingest(struct cli *c, int argc, char **argv);
/* The documents section of pgkb status: documents by status for each source (cli_ingest.c). */
int cli_status_documents(struct cli *c);
/* pgkb sources; pgkb source show|set|delete ID … (cli_sources.c) */
int cli_sources(struct cli *c, int argc, char **argv);
int cli_source(struct cli *c, int argc, char **argv);

#endif
