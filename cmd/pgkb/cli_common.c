/* pgkb CLI: connecting, running statements, printing tables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/pgkb/cli.h"
#include "lib/util/mem.h"
#include "lib/pg/pgconninfo.h"

int cli_connect(struct cli *c)
{
	struct pg_conninfo ci;
	char *err = NULL;
	if (pg_conninfo_init(&ci, c->cfg.database_url, c->cfg.database_url_from_env, "pgkb-cli",
	                     (long)c->cfg.connect_timeout_ms, &err) != 0) {
		fprintf(stderr, "pgkb: %s\n", err);
		free(err);
		return -1;
	}
	c->db = pg_connect_blocking(&ci, &err);
	pg_conninfo_free(&ci);
	if (!c->db) {
		fprintf(stderr, "pgkb: %s\n", err);
		free(err);
		return -1;
	}
	PQclear(PQexec(c->db, "SET client_min_messages = warning"));
	return 0;
}

PGresult *cli_exec(struct cli *c, const char *what, const char *sql, int n, const char *const *params)
{
	PGresult *r = PQexecParams(c->db, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	const char *hint = PQresultErrorField(r, PG_DIAG_MESSAGE_HINT);
	fprintf(stderr, "pgkb: %s: %s\n", what, msg ? msg : PQerrorMessage(c->db));
	if (hint)
		fprintf(stderr, "hint: %s\n", hint);
	PQclear(r);
	return NULL;
}

void cli_print_table(const PGresult *r)
{
	int rows = PQntuples(r), cols = PQnfields(r);
	int *w = xcalloc((size_t)cols, sizeof *w);
	for (int j = 0; j < cols; j++) {
		w[j] = (int)strlen(PQfname(r, j));
		for (int i = 0; i < rows; i++) {
			int l = (int)strlen(PQgetvalue(r, i, j));
			if (l > w[j])
				w[j] = l > 80 ? 80 : l;
		}
	}
	for (int j = 0; j < cols; j++)
		printf("%s%-*s", j ? "  " : "", w[j], PQfname(r, j));
	putchar('\n');
	for (int j = 0; j < cols; j++) {
		printf("%s", j ? "  " : "");
		for (int k = 0; k < w[j]; k++)
			putchar('-');
	}
	putchar('\n');
	for (int i = 0; i < rows; i++) {
		for (int j = 0; j < cols; j++)
			printf("%s%-*.*s", j ? "  " : "", w[j], w[j], PQgetvalue(r, i, j));
		putchar('\n');
	}
	free(w);
}
