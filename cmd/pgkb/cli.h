/* pgkb CLI: shared helpers and the sub-commands. */
#ifndef PGKB_CLI_H
#define PGKB_CLI_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/cfg/cfg.h"

struct cli {
	struct cfg cfg;
	PGconn *db;
	/* the ids of the jobs this command enqueued (pgkb enqueue … --wait waits for them) */
	long long *enqueued;
	size_t n_enqueued;
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

/* pgkb reembed [--source ID] [--all] [--batch N] [--wait] (cli_reembed.c) */
int cli_reembed(struct cli *c, int argc, char **argv);
/* The vectors section of pgkb status: coverage per model and dimension, re-embeds under way (cli_reembed.c). */
int cli_status_vectors(struct cli *c);
/* Vector coverage of source (NULL: all) as a table: rows per table, model and dimension ("(none)": without a
 * vector) and their share; -1 after printing an error (cli_reembed.c). */
int cli_print_coverage(struct cli *c, const char *source);
/* pgkb import sqlite FILE [--map builtin|MAPPING.yaml] … (cli_import.c) */
int cli_import(struct cli *c, int argc, char **argv);

/* pgkb wait JOB_ID… [--timeout DURATION] (cli_wait.c) */
int cli_wait(struct cli *c, int argc, char **argv);
/* Removes --wait and --timeout DURATION from argv (pgkb enqueue); -1 after printing why for a bad duration.
 * *timeout_ms is -1 without --timeout. */
int cli_take_wait_opts(int *argc, char **argv, bool *wait, int64_t *timeout_ms);
/* Records an enqueued job's id (its decimal text) for cli_wait_jobs. */
void cli_note_enqueued(struct cli *c, const char *id);
/* Waits until every job's documents are final (timeout_ms < 0: no limit) and prints the outcome. Returns the
 * exit code: 0 all well, 1 a document failed or a job died (or an error), 3 timed out. */
int cli_wait_jobs(struct cli *c, const long long *ids, size_t n, int64_t timeout_ms);
/* pgkb documents [--source ID] [--status S] [--job ID] [--limit N] (cli_documents.c) */
int cli_documents(struct cli *c, int argc, char **argv);
/* The recent failures section of pgkb status: failed documents and dead jobs (cli_documents.c). */
int cli_status_failures(struct cli *c);
/* Prints text whole, wrapped at width columns after indent spaces, control characters as '?'; after max_lines
 * lines (0: no limit) an ellipsis. Returns the lines printed (cli_wrap.c). */
int cli_print_wrapped(FILE *f, const char *text, int indent, int width, int max_lines);
/* Prints text on one line, control characters as '?'. */
void cli_print_clean(FILE *f, const char *text);

#endif
