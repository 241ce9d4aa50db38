/* The start-up check for a connection pooler in transaction (or statement) mode between pgkb and PostgreSQL.
 * Workers hold a session for LISTEN pgkb_jobs, statements prepared once per connection and session settings
 * (timeouts, plan mode); behind transaction pooling each of those silently lands on some other server
 * connection. Poolers do not answer SHOW pool_mode to clients, so the mode is told by behaviour: client A runs
 * a statement and goes idle; client B opens a transaction. A session pooler (or no pooler) keeps A's server
 * session for A, so B gets another one; a transaction pooler hands A's released server connection to B, and A,
 * asking again while B holds it, gets yet another backend. Either sign means the session is not A's own. */
#include <stdlib.h>
#include <string.h>

#include "lib/pg/pgconninfo.h"
#include "lib/util/log.h"
#include "cmd/supervisor/sup.h"

/* The backend pid a query on c reports, or -1 on an error (its message in *err, not owned). */
static long backend_pid(PGconn *c, const char **err)
{
	PGresult *r = PQexec(c, "SELECT pg_backend_pid()");
	long pid = -1;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		pid = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	else
		*err = PQerrorMessage(c);
	PQclear(r);
	return pid;
}

static bool refuse(const struct pg_conninfo *ci, const char *mode)
{
	log_error("the database connection (%s) goes through a connection pooler in %s mode: pgkb's workers need "
	          "a server session of their own (LISTEN for wakeups, statements prepared per connection, session "
	          "timeouts), which %s pooling does not keep. Use the pooler's session mode instead (PgBouncer: "
	          "pool_mode = session; Supabase: the session pooler on port 5432 of the pooler host, not the "
	          "transaction pooler on port 6543) or connect to the database directly (its own port, 5432). "
	          "Refusing to start.",
	          ci->describe, mode, mode);
	return false;
}

bool sup_check_pooler(const struct cfg *cfg)
{
	struct pg_conninfo ci;
	char *err = NULL;
	if (pg_conninfo_init(&ci, cfg->database_url, cfg->database_url_from_env, "pgkb-supervisor",
	                     (long)cfg->connect_timeout_ms, &err) != 0) {
		free(err); /* the workers report a bad URL themselves */
		return true;
	}
	PGconn *a = pg_connect_blocking(&ci, &err);
	PGconn *b = a ? pg_connect_blocking(&ci, &err) : NULL;
	bool ok = true;
	if (!a || !b) {
		log_info("pooler check skipped: %s", err ? err : "no connection");
		goto done;
	}
	const char *qerr = NULL;
	long a1 = backend_pid(a, &qerr);
	PGresult *r = PQexec(b, "BEGIN");
	bool began = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!began) {
		/* PgBouncer in statement mode refuses transaction blocks */
		ok = a1 < 0 || !strstr(PQerrorMessage(b), "statement pooling") ? true : refuse(&ci, "statement");
		goto done;
	}
	long b1 = backend_pid(b, &qerr);
	long a2 = backend_pid(a, &qerr);
	PQclear(PQexec(b, "ROLLBACK"));
	if (a1 < 0 || b1 < 0 || a2 < 0)
		log_info("pooler check inconclusive: %s", qerr ? qerr : "no answer");
	else if (a1 == b1 || a1 != a2)
		ok = refuse(&ci, "transaction");
done:
	free(err);
	if (a)
		PQfinish(a);
	if (b)
		PQfinish(b);
	pg_conninfo_free(&ci);
	return ok;
}
