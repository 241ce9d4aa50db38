/* pgkb enqueue crawl and the crawls section of pgkb status. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/pgkb/cli.h"

#define BAR_WIDTH 30

static int crawl_usage(void)
{
	fprintf(stderr, "usage: pgkb enqueue crawl URL [--depth N] [--max-pages N] [--include GLOB]... "
	                "[--exclude GLOB]... [--source-id ID] [--knowledge-type TYPE] [--tag TAG]... [--wait [--timeout D]]\n");
	return 2;
}

static int parse_count(const char *s, long long max, json_t *payload, const char *key)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || v < 0 || v > max) {
		fprintf(stderr, "pgkb: --%s: expected an integer from 0 to %lld, got \"%s\"\n",
		        strcmp(key, "max_depth") == 0 ? "depth" : "max-pages", max, s);
		return -1;
	}
	json_object_set_new(payload, key, json_integer(v));
	return 0;
}

/* Appends s to payload[key], creating the array. */
static void add_to(json_t *payload, const char *key, const char *s)
{
	json_t *a = json_object_get(payload, key);
	if (!a) {
		a = json_array();
		json_object_set_new(payload, key, a);
	}
	json_array_append_new(a, json_string(s));
}

/* Builds the crawl payload from argv; NULL after printing why. */
static json_t *crawl_payload(int argc, char **argv)
{
	static const struct option opts[] = {
		{"depth", required_argument, NULL, 'd'},  {"max-pages", required_argument, NULL, 'p'},
		{"include", required_argument, NULL, 'i'}, {"exclude", required_argument, NULL, 'x'},
		{"source-id", required_argument, NULL, 's'}, {"knowledge-type", required_argument, NULL, 'k'},
		{"tag", required_argument, NULL, 't'},    {NULL, 0, NULL, 0},
	};
	json_t *p = json_object();
	int o, bad = 0;
	optind = 1;
	while (!bad && (o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'd': bad = parse_count(optarg, 1000, p, "max_depth"); break;
		case 'p': bad = parse_count(optarg, 100000000, p, "max_pages"); break;
		case 'i': add_to(p, "include", optarg); break;
		case 'x': add_to(p, "exclude", optarg); break;
		case 's': json_object_set_new(p, "source_id", json_string(optarg)); break;
		case 'k': json_object_set_new(p, "knowledge_type", json_string(optarg)); break;
		case 't': add_to(p, "tags", optarg); break;
		default: bad = 1;
		}
	}
	if (bad || argc - optind != 1) {
		json_decref(p);
		if (!bad)
			crawl_usage();
		return NULL;
	}
	json_object_set_new(p, "url", json_string(argv[optind]));
	return p;
}

int cli_enqueue_crawl(struct cli *c, int argc, char **argv)
{
	json_t *p = crawl_payload(argc, argv);
	if (!p)
		return 2;
	char *js = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	if (cli_connect(c) != 0) {
		free(js);
		return 1;
	}
	const char *params[1] = {js};
	PGresult *r = cli_exec(c, "enqueue crawl",
	                       "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', $1::jsonb) RETURNING id", 1, params);
	free(js);
	if (!r)
		return 1;
	printf("%s\n", PQgetvalue(r, 0, 0));
	cli_note_enqueued(c, PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

static const char *const progress_sql =
	"SELECT crawl_id AS crawl, status, root_url, documents AS discovered, queued,"
	"       fetched + chunked + embedded + ready AS fetched, skipped, failed, gone, chunked,"
	"       embedded + ready AS ready,"
	"       to_char(date_trunc('second', coalesce(finished_at, now()) - started_at), 'FMHH24:MI:SS') AS elapsed"
	"  FROM pgkb.crawl_progress"
	" WHERE status = 'running' OR finished_at > now() - interval '1 day'"
	" ORDER BY crawl_id DESC LIMIT 20";

static void print_bars(const PGresult *r)
{
	for (int i = 0; i < PQntuples(r); i++) {
		long long all = atoll(PQgetvalue(r, i, 3)), queued = atoll(PQgetvalue(r, i, 4));
		long long done = all - queued;
		int fill = all ? (int)(done * BAR_WIDTH / all) : 0;
		char bar[BAR_WIDTH + 1];
		memset(bar, '#', (size_t)fill);
		memset(bar + fill, '.', (size_t)(BAR_WIDTH - fill));
		bar[BAR_WIDTH] = '\0';
		printf("crawl %-6s [%s] %lld/%lld fetched or settled, %s ready  %s  %s\n", PQgetvalue(r, i, 0), bar, done,
		       all, PQgetvalue(r, i, 10), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
	}
}

/* Prints the crawls once; *running gets the number still running. */
static int crawls_once(struct cli *c, bool tty, int *running)
{
	PGresult *r = cli_exec(c, "crawl progress", progress_sql, 0, NULL);
	if (!r)
		return 1;
	*running = 0;
	for (int i = 0; i < PQntuples(r); i++)
		*running += strcmp(PQgetvalue(r, i, 1), "running") == 0;
	printf("\nCrawls\n");
	if (PQntuples(r) == 0) {
		printf("(none in the last day)\n");
	} else {
		cli_print_table(r);
		if (tty) {
			putchar('\n');
			print_bars(r);
		}
	}
	PQclear(r);
	fflush(stdout);
	return 0;
}

int cli_status_crawls(struct cli *c, int watch)
{
	bool tty = isatty(STDOUT_FILENO);
	int running = 0;
	for (;;) {
		if (watch && tty)
			printf("\033[H\033[J");
		if (crawls_once(c, tty, &running) != 0)
			return 1;
		if (!watch || running == 0)
			return 0;
		sleep(1);
	}
}
