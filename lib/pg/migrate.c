/* Schema migrations applied in order, checksummed, serialised across hosts by an advisory lock. */
#include "lib/pg/migrate.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/util/file.h"
#include "lib/util/hash.h"
#include "lib/util/mem.h"

#ifndef PGKB_INSTALL_SCHEMA_DIR
#define PGKB_INSTALL_SCHEMA_DIR "/usr/local/share/pgkb/schema"
#endif

/* A migration is a schema file of ours; anything this large is not one. */
#define MIGRATION_MAX_BYTES (16 * 1024 * 1024)
/* Any 64-bit key that other applications are unlikely to use: "pgkbmigr" in ASCII. */
#define MIGRATE_LOCK_KEY "7029467564734998898"

/* pgkb's own bookkeeping. archon_migrations belongs to Archon: its migration service lists as pending each file
 * of its own without a row there, and pgkb's rows and columns in it broke that (issue 13). */
static const char *const create_table_sql =
	"CREATE SCHEMA IF NOT EXISTS pgkb;"
	"CREATE TABLE IF NOT EXISTS pgkb.schema_migrations ("
	"  version     text        NOT NULL,"
	"  name        text        NOT NULL,"
	"  checksum    text        NOT NULL,"
	"  applied_at  timestamptz NOT NULL DEFAULT now(),"
	"  duration_ms integer     NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (version, name))";

/* Databases migrated before 088 recorded pgkb's migrations in archon_migrations (versions NNN with a checksum,
 * beside Archon's 0.1.0 rows). The first run, while pgkb.schema_migrations is empty, moves them there;
 * 088_archon.sql then gives archon_migrations Archon's own columns back. Dynamic SQL: the table may not exist. */
static const char *const move_old_rows_sql =
	"DO $$ BEGIN"
	"  IF to_regclass('public.archon_migrations') IS NOT NULL"
	"     AND NOT EXISTS (SELECT 1 FROM pgkb.schema_migrations) THEN"
	"    EXECUTE $m$WITH old AS (DELETE FROM public.archon_migrations"
	"                            WHERE version ~ '^[0-9]{3}$' AND checksum IS NOT NULL"
	"                            RETURNING version, migration_name, checksum, applied_at)"
	"               INSERT INTO pgkb.schema_migrations (version, name, checksum, applied_at)"
	"               SELECT version, migration_name, checksum, coalesce(applied_at, now()) FROM old"
	"               ON CONFLICT DO NOTHING$m$;"
	"  END IF;"
	"END $$";

struct migration {
	char *file;    /* NNN_name.sql */
	char *version; /* NNN */
	char *name;    /* name */
	char *sql;
	char checksum[HASH_HEX_LEN + 1];
	const char *applied_checksum; /* from the table, or NULL */
	const char *applied_at;
};

const char *migrate_dir(void)
{
	const char *env = getenv("PGKB_SCHEMA_DIR");
	if (env && *env)
		return env;
	struct stat st;
	if (stat(PGKB_SCHEMA_DIR, &st) == 0 && S_ISDIR(st.st_mode))
		return PGKB_SCHEMA_DIR;
	return PGKB_INSTALL_SCHEMA_DIR;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool valid_name(const char *n)
{
	size_t l = strlen(n);
	if (l < 9 || strcmp(n + l - 4, ".sql") != 0)
		return false;
	for (int i = 0; i < 3; i++)
		if (n[i] < '0' || n[i] > '9')
			return false;
	return n[3] == '_';
}

static void free_migrations(struct migration *m, int n)
{
	for (int i = 0; i < n; i++) {
		free(m[i].file);
		free(m[i].version);
		free(m[i].name);
		free(m[i].sql);
	}
	free(m);
}

/* Reads dir's NNN_name.sql files in order. Returns the count or -1. */
static int load_migrations(const char *dir, struct migration **out, char **err)
{
	DIR *d = opendir(dir);
	if (!d) {
		*err = xasprintf("cannot open the migrations directory %s (set PGKB_SCHEMA_DIR)", dir);
		return -1;
	}
	char **names = NULL;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!valid_name(e->d_name))
			continue;
		names = xrealloc(names, (size_t)(n + 1) * sizeof *names);
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof *names, cmp_names);
	struct migration *m = xcalloc((size_t)n + 1, sizeof *m);
	int rc = n;
	for (int i = 0; i < n; i++) {
		m[i].file = names[i];
		m[i].version = xstrndup(names[i], 3);
		m[i].name = xstrndup(names[i] + 4, strlen(names[i]) - 8);
		char *path = xasprintf("%s/%s", dir, names[i]);
		size_t len = 0;
		struct file_error fe;
		if (file_read(path, MIGRATION_MAX_BYTES, FILE_REGULAR, &m[i].sql, &len, &fe) != 0)
			m[i].sql = NULL;
		if (!m[i].sql && rc >= 0) {
			char *why = file_error_message(path, MIGRATION_MAX_BYTES, &fe);
			*err = xasprintf("cannot read migration %s", why);
			free(why);
			rc = -1;
		}
		free(path);
		if (!m[i].sql)
			continue;
		hash_sha256_hex(m[i].sql, len, m[i].checksum);
		if (i > 0 && strcmp(m[i].version, m[i - 1].version) == 0 && rc >= 0) {
			*err = xasprintf("migrations %s and %s share version %s", m[i - 1].file, m[i].file, m[i].version);
			rc = -1;
		}
	}
	free(names);
	if (rc < 0) {
		free_migrations(m, n);
		return -1;
	}
	*out = m;
	return n;
}

static char *result_error(PGresult *r, const char *what)
{
	const char *msg = PQresultErrorMessage(r);
	char *e = xasprintf("%s: %s", what, msg && *msg ? msg : "unknown error");
	size_t l = strlen(e);
	while (l && (e[l - 1] == '\n' || e[l - 1] == ' '))
		e[--l] = '\0';
	return e;
}

static int exec_ok(PGconn *c, const char *sql, const char *what, char **err)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		*err = result_error(r, what);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

/* Locks, ensures the table, loads files and the applied rows, checks checksums. Returns the count or -1.
 * *applied_res stays alive while the migrations' applied_* pointers are used. */
static int prepare_run(PGconn *c, const char *dir, struct migration **m, PGresult **applied_res, char **err)
{
	if (exec_ok(c, "SET client_min_messages = warning", "setting up the session", err) ||
	    exec_ok(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "taking the migration lock", err) ||
	    exec_ok(c, create_table_sql, "creating pgkb.schema_migrations", err) ||
	    exec_ok(c, move_old_rows_sql, "moving pgkb's rows out of archon_migrations", err))
		return -1;
	int n = load_migrations(dir, m, err);
	if (n < 0)
		return -1;
	PGresult *r = PQexec(c, "SELECT version, name, checksum, applied_at::text FROM pgkb.schema_migrations");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		*err = result_error(r, "reading pgkb.schema_migrations");
		PQclear(r);
		free_migrations(*m, n);
		return -1;
	}
	for (int row = 0; row < PQntuples(r); row++)
		for (int i = 0; i < n; i++)
			if (strcmp(PQgetvalue(r, row, 0), (*m)[i].version) == 0 &&
			    strcmp(PQgetvalue(r, row, 1), (*m)[i].name) == 0) {
				(*m)[i].applied_checksum = PQgetvalue(r, row, 2);
				(*m)[i].applied_at = PQgetvalue(r, row, 3);
			}
	for (int i = 0; i < n; i++)
		if ((*m)[i].applied_checksum && strcmp((*m)[i].applied_checksum, (*m)[i].checksum) != 0) {
			*err = xasprintf("migration %s/%s was changed after it was applied (checksum %.12s…, applied "
			                 "%.12s…): restore the original file and add a new migration instead",
			                 dir, (*m)[i].file, (*m)[i].checksum, (*m)[i].applied_checksum);
			PQclear(r);
			free_migrations(*m, n);
			return -1;
		}
	*applied_res = r;
	return n;
}

static void unlock(PGconn *c)
{
	PQclear(PQexec(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int apply_one(PGconn *c, const char *dir, const struct migration *m, char **err)
{
	double t0 = now_ms();
	if (exec_ok(c, "BEGIN", "starting a transaction", err))
		return -1;
	PGresult *r = PQexec(c, m->sql);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
		char *what = xasprintf("migration %s/%s failed", dir, m->file);
		*err = result_error(r, what);
		free(what);
		PQclear(r);
		PQclear(PQexec(c, "ROLLBACK"));
		return -1;
	}
	PQclear(r);
	char dur[32];
	snprintf(dur, sizeof dur, "%d", (int)(now_ms() - t0));
	const char *params[4] = {m->version, m->name, m->checksum, dur};
	r = PQexecParams(c,
	                 "INSERT INTO pgkb.schema_migrations (version, name, checksum, duration_ms) "
	                 "VALUES ($1, $2, $3, $4::int)",
	                 4, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		*err = result_error(r, "recording the migration");
		PQclear(r);
		PQclear(PQexec(c, "ROLLBACK"));
		return -1;
	}
	PQclear(r);
	return exec_ok(c, "COMMIT", "committing the migration", err);
}

int migrate_apply(PGconn *c, const char *dir, FILE *out, char **err)
{
	struct migration *m = NULL;
	PGresult *applied = NULL;
	int n = prepare_run(c, dir, &m, &applied, err);
	if (n < 0) {
		unlock(c);
		return -1;
	}
	int done = 0;
	for (int i = 0; i < n; i++) {
		if (m[i].applied_checksum)
			continue;
		if (apply_one(c, dir, &m[i], err) != 0) {
			done = -1;
			break;
		}
		if (out)
			fprintf(out, "applied %s\n", m[i].file);
		done++;
	}
	PQclear(applied);
	free_migrations(m, n);
	unlock(c);
	return done;
}

int migrate_status(PGconn *c, const char *dir, FILE *out, char **err)
{
	struct migration *m = NULL;
	PGresult *applied = NULL;
	int n = prepare_run(c, dir, &m, &applied, err);
	unlock(c);
	if (n < 0)
		return -1;
	int pending = 0;
	for (int i = 0; i < n; i++) {
		if (m[i].applied_checksum) {
			fprintf(out, "applied  %-40s %s\n", m[i].file, m[i].applied_at);
		} else {
			fprintf(out, "pending  %s\n", m[i].file);
			pending++;
		}
	}
	PQclear(applied);
	free_migrations(m, n);
	return pending;
}
