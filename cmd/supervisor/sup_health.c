/* Readiness for /readyz (the metrics child): the database answers, its schema has this binary's latest
 * migration, and the configured worker processes are running. Blocking, bounded by connect_timeout and a
 * statement timeout; read-only, so a probe never writes (a hot standby answers it too). */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/pg/migrate.h"
#include "lib/pg/pgconninfo.h"
#include "lib/util/mem.h"
#include "workers/core/stats.h"
#include "cmd/supervisor/sup.h"

/* The last migration file of dir ("NNN_name.sql", by name), in *version ("NNN") and *name; false if none. */
static bool latest_migration(const char *dir, char version[4], char **name)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	char best[256] = "";
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		size_t l = strlen(n);
		if (l < 9 || l >= sizeof best || strcmp(n + l - 4, ".sql") != 0 || n[3] != '_' ||
		    strspn(n, "0123456789") != 3)
			continue;
		if (strcmp(n, best) > 0)
			snprintf(best, sizeof best, "%s", n);
	}
	closedir(d);
	if (!*best)
		return false;
	memcpy(version, best, 3);
	version[3] = '\0';
	*name = xstrndup(best + 4, strlen(best) - 8);
	return true;
}

/* Whether the database has the binary's latest migration; a reason in why when not (or when it cannot say). */
static bool schema_current(PGconn *c, char *why, size_t cap)
{
	char version[4];
	char *name = NULL;
	if (!latest_migration(migrate_dir(), version, &name)) {
		snprintf(why, cap, "schema: no migrations found in %s", migrate_dir());
		return false;
	}
	const char *params[2] = {version, name};
	PGresult *r = PQexecParams(c,
	                           "SELECT EXISTS (SELECT 1 FROM archon_migrations WHERE version = $1 AND migration_name = $2)",
	                           2, NULL, params, NULL, NULL, 0);
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	if (!ok && PQresultStatus(r) == PGRES_TUPLES_OK)
		snprintf(why, cap, "schema: migration %s_%s not applied (run pgkb migrate)", version, name);
	else if (!ok)
		snprintf(why, cap, "schema: not migrated (run pgkb migrate): %s",
		         PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
		                                                       : "no answer");
	PQclear(r);
	free(name);
	return ok;
}

/* Whether pid runs: it exists and is not a zombie (a dead worker its supervisor has not reaped yet). */
static bool running(int pid)
{
	if (pid <= 0 || kill(pid, 0) != 0)
		return false;
	char path[64], stat[256] = "";
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true; /* no /proc: existing is all we can tell */
	size_t n = fread(stat, 1, sizeof stat - 1, f);
	fclose(f);
	stat[n] = '\0';
	const char *end = strrchr(stat, ')'); /* "pid (comm) S ...": comm may hold spaces and parentheses */
	return !(end && end[1] == ' ' && end[2] == 'Z');
}

/* Live worker processes (slots whose process still exists) against the configured count. */
static bool workers_running(const struct sup *s, char *why, size_t cap)
{
	int want = 0, live = 0;
	for (int k = 0; k < CFG_WORKER_KINDS; k++)
		want += s->cfg.workers[k].processes;
	struct stats_region *r = stats_region();
	if (!r || want == 0)
		return true; /* no counters to read (nothing to judge by), or no workers configured */
	for (int i = 0; i < STATS_WORKERS; i++) {
		int pid = atomic_load(&r->workers[i].pid);
		live += running(pid);
	}
	if (live >= want)
		return true;
	snprintf(why, cap, "workers: %d of %d running", live, want);
	return false;
}

bool sup_ready(const struct sup *s, const struct pg_conninfo *ci, char *why, size_t cap)
{
	char *err = NULL;
	PGconn *c = pg_connect_blocking(ci, &err);
	if (!c) {
		/* the first line of libpq's message is enough for a probe's log */
		snprintf(why, cap, "database: unreachable: %.*s", (int)strcspn(err, "\n"), err);
		free(err);
		return false;
	}
	PQclear(PQexec(c, "SET statement_timeout = '5s'"));
	bool ok = schema_current(c, why, cap) && workers_running(s, why, cap);
	PQfinish(c);
	return ok;
}
