/* Supervisor: hands a dead worker's leased jobs back to the queue at once (blocking libpq, no event loop). */
#include <stdlib.h>
#include <string.h>

#include "lib/util/log.h"
#include "lib/pg/pgconninfo.h"
#include "lib/pg/queue.h"
#include "cmd/supervisor/sup.h"

static PGconn *db;
static struct pg_conninfo db_ci;

void sup_close_db(void)
{
	if (db)
		PQfinish(db);
	db = NULL;
	if (db_ci.keywords)
		pg_conninfo_free(&db_ci);
}

static PGconn *connect_db(struct sup *s)
{
	if (db && PQstatus(db) == CONNECTION_OK)
		return db;
	sup_close_db();
	char *err = NULL;
	if (pg_conninfo_init(&db_ci, s->cfg.database_url, s->cfg.database_url_from_env, "pgkb-supervisor",
	                     (long)s->cfg.connect_timeout_ms, &err) != 0) {
		log_error("%s", err);
		free(err);
		return NULL;
	}
	db = pg_connect_blocking(&db_ci, &err);
	if (!db) {
		log_warn("%s", err);
		free(err);
	}
	return db;
}

void sup_handback(struct sup *s, const char *owner, const char *why)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		PGconn *c = connect_db(s);
		if (!c)
			break;
		const char *params[2] = {owner, why};
		PGresult *r = PQexecParams(c, queue_handback_owner.sql, 2, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) == PGRES_TUPLES_OK) {
			for (int i = 0; i < PQntuples(r); i++)
				log_warn("handed back job %s (%s) of %s: now %s", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), owner,
				         PQgetvalue(r, i, 2));
			PQclear(r);
			return;
		}
		log_warn("handing back the jobs of %s failed: %s", owner, PQresultErrorMessage(r));
		PQclear(r);
		sup_close_db(); /* the connection may be stale after a server restart: reconnect once */
	}
	log_warn("could not hand back the jobs of %s now; their leases expire after %.0fs and any worker rescues them",
	         owner, s->cfg.lease_ms / 1000.0);
}
