/* Connection parameters: the configured DSN, with PG* environment variables taking precedence over it. */
#ifndef PGKB_PGCONNINFO_H
#define PGKB_PGCONNINFO_H

#include <libpq-fe.h>

struct pg_conninfo {
	const char **keywords; /* NULL-terminated, for PQconnectStartParams */
	const char **values;
	char *describe;        /* "host=… port=… dbname=… user=…" for logs: never contains the password */
};

/* Parses dsn (URI or key=value; "" means libpq defaults). When the DSN came from the config file
 * (dsn_from_env false), a set PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGSSLMODE … overrides the same
 * field of the DSN. application_name and connect_timeout_ms are applied unless the DSN sets them.
 * Returns 0, or -1 with *err set to a heap message (which never echoes the DSN: it may hold a password). */
int pg_conninfo_init(struct pg_conninfo *ci, const char *dsn, int dsn_from_env, const char *application_name,
                     long connect_timeout_ms, char **err);
void pg_conninfo_free(struct pg_conninfo *ci);
/* Blocking connect with these parameters (for the CLI and the supervisor). Returns NULL and sets *err. */
PGconn *pg_connect_blocking(const struct pg_conninfo *ci, char **err);

#endif
