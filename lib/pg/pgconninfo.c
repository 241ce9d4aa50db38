/* Connection parameters: the configured DSN, with PG* environment variables taking precedence over it. */
#include "lib/pg/pgconninfo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/buf.h"
#include "lib/util/mem.h"

/* libpq keywords and the environment variables that override them when the DSN came from a file. */
static const char *const env_overrides[][2] = {
	{"host", "PGHOST"},         {"hostaddr", "PGHOSTADDR"}, {"port", "PGPORT"},
	{"dbname", "PGDATABASE"},   {"user", "PGUSER"},         {"password", "PGPASSWORD"},
	{"passfile", "PGPASSFILE"}, {"sslmode", "PGSSLMODE"},   {"sslrootcert", "PGSSLROOTCERT"},
	{"options", "PGOPTIONS"},   {"target_session_attrs", "PGTARGETSESSIONATTRS"},
};

static int overridden(const char *kw)
{
	for (size_t i = 0; i < sizeof env_overrides / sizeof env_overrides[0]; i++)
		if (strcmp(kw, env_overrides[i][0]) == 0) {
			const char *v = getenv(env_overrides[i][1]);
			return v && *v;
		}
	return 0;
}

static void push(struct pg_conninfo *ci, size_t *n, const char *k, const char *v)
{
	ci->keywords = xrealloc(ci->keywords, (*n + 2) * sizeof *ci->keywords);
	ci->values = xrealloc(ci->values, (*n + 2) * sizeof *ci->values);
	ci->keywords[*n] = xstrdup(k);
	ci->values[*n] = xstrdup(v);
	(*n)++;
	ci->keywords[*n] = NULL;
	ci->values[*n] = NULL;
}

static const char *find(const struct pg_conninfo *ci, const char *kw)
{
	for (size_t i = 0; ci->keywords && ci->keywords[i]; i++)
		if (strcmp(ci->keywords[i], kw) == 0)
			return ci->values[i];
	return NULL;
}

int pg_conninfo_init(struct pg_conninfo *ci, const char *dsn, int dsn_from_env, const char *application_name,
                     long connect_timeout_ms, char **err)
{
	memset(ci, 0, sizeof *ci);
	size_t n = 0;
	push(ci, &n, "fallback_application_name", application_name);
	if (dsn && *dsn) {
		char *perr = NULL;
		PQconninfoOption *opts = PQconninfoParse(dsn, &perr);
		if (!opts) {
			/* libpq's message names the syntax problem, not the DSN contents. */
			*err = xasprintf("invalid database.url: %s", perr ? perr : "out of memory");
			PQfreemem(perr);
			pg_conninfo_free(ci);
			return -1;
		}
		for (PQconninfoOption *o = opts; o->keyword; o++)
			if (o->val && *o->val && (dsn_from_env || !overridden(o->keyword)))
				push(ci, &n, o->keyword, o->val);
		PQconninfoFree(opts);
	}
	if (!find(ci, "connect_timeout")) {
		char t[32];
		snprintf(t, sizeof t, "%ld", connect_timeout_ms < 2000 ? 2 : (connect_timeout_ms + 999) / 1000);
		push(ci, &n, "connect_timeout", t);
	}
	if (!find(ci, "keepalives")) {
		push(ci, &n, "keepalives", "1");
		push(ci, &n, "keepalives_idle", "30");
		push(ci, &n, "keepalives_interval", "10");
		push(ci, &n, "keepalives_count", "3");
	}
	struct buf d = BUF_INIT;
	const char *show[] = {"host", "port", "dbname", "user"};
	const char *show_env[] = {"PGHOST", "PGPORT", "PGDATABASE", "PGUSER"};
	for (size_t i = 0; i < 4; i++) {
		const char *v = find(ci, show[i]);
		if (!v || !*v)
			v = getenv(show_env[i]);
		buf_printf(&d, "%s%s=%s", i ? " " : "", show[i], v ? v : "(default)");
	}
	ci->describe = buf_steal(&d);
	return 0;
}

void pg_conninfo_free(struct pg_conninfo *ci)
{
	for (size_t i = 0; ci->keywords && ci->keywords[i]; i++) {
		free((char *)ci->keywords[i]);
		free((char *)ci->values[i]);
	}
	free(ci->keywords);
	free(ci->values);
	free(ci->describe);
	memset(ci, 0, sizeof *ci);
}

PGconn *pg_connect_blocking(const struct pg_conninfo *ci, char **err)
{
	PGconn *conn = PQconnectdbParams(ci->keywords, ci->values, 0);
	if (PQstatus(conn) != CONNECTION_OK) {
		*err = xasprintf("cannot connect to %s: %s", ci->describe, PQerrorMessage(conn));
		size_t l = strlen(*err);
		while (l && ((*err)[l - 1] == '\n' || (*err)[l - 1] == ' '))
			(*err)[--l] = '\0';
		PQfinish(conn);
		return NULL;
	}
	return conn;
}
