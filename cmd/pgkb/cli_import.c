/* pgkb import sqlite FILE [--map builtin|MAPPING.yaml]: copies conversations, their messages and documents
 * from a SQLite store into pgkb_memory and the ingest queue, in batches. Each batch commits with its
 * high-water mark (the largest SQLite rowid done, in pgkb_memory.imports, keyed by file identity, mapping and
 * source table), so a rerun after a crash goes on from there and never copies a row twice. Rows that cannot
 * be converted are recorded with their rowid and why (pgkb_memory.import_rejects); at the end the source
 * counts are checked against imported + rejected. Blocking libpq: this is a command, not a worker. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd/pgkb/cli.h"
#include "cmd/pgkb/cli_import.h"
#include "lib/text/utf8.h"
#include "lib/util/file.h"
#include "lib/util/mem.h"

#define IMPORT_BATCH_DEFAULT 1000
#define IMPORT_BATCH_MAX 10000
#define IMPORT_BATCH_BYTES (16 << 20)   /* a batch also ends once its rows hold this much text */
#define MESSAGE_MAX_BYTES (1 << 20)     /* a longer message is rejected */
#define METADATA_MAX_BYTES (64 << 10)
#define ID_MAX_BYTES 400                /* session ids: 512 bytes with the --prefix */
#define REPORT_MAX 100                  /* rejected rows listed in the report */

struct import {
	struct cli *c;
	sqlite3 *db;
	const struct imp_map *map;
	const char *identity, *prefix, *source_id, *base;
	int batch;
	int64_t max_doc_bytes;
};

/* What each target writes: $1 the batch's rows as a JSON array ({"row_id": rowid, field: value…}), $2 the
 * session id prefix, $3 the URL prefix of documents without one, $4 their source id. Each returns the rows it
 * refused, as (row_id, reason). */
static const char *const target_sql[IMP_TARGETS] = {
	[IMP_SESSIONS] =
	"WITH src AS (SELECT * FROM jsonb_to_recordset($1::jsonb)"
	"               AS r(row_id bigint, id text, user_id text, title text, metadata jsonb, created_at timestamptz)),"
	" ins AS (INSERT INTO pgkb_memory.sessions (id, user_id, title, metadata, created_at)"
	"         SELECT $2 || s.id, s.user_id, s.title, coalesce(s.metadata, '{}'), coalesce(s.created_at, now())"
	"           FROM src s ORDER BY s.row_id ON CONFLICT (id) DO NOTHING RETURNING id)"
	" SELECT s.row_id, 'session id ' || $2 || s.id || ' exists already' FROM src s"
	"  WHERE NOT EXISTS (SELECT 1 FROM ins WHERE ins.id = $2 || s.id)"
	"    AND $3::text IS NOT NULL AND $4::text IS NOT NULL",
	[IMP_MESSAGES] =
	"WITH src AS (SELECT * FROM jsonb_to_recordset($1::jsonb)"
	"               AS r(row_id bigint, session_id text, user_id text, role text, content text, metadata jsonb,"
	"                    created_at timestamptz, token_count integer)),"
	" ok AS (SELECT s.* FROM src s"
	"         WHERE EXISTS (SELECT 1 FROM pgkb_memory.sessions x WHERE x.id = $2 || s.session_id)),"
	" ins AS (INSERT INTO pgkb_memory.messages (session_id, user_id, role, content, metadata, created_at,"
	"                                           token_count)"
	"         SELECT $2 || o.session_id, o.user_id, o.role, o.content, coalesce(o.metadata, '{}'),"
	"                coalesce(o.created_at, now()), o.token_count FROM ok o ORDER BY o.row_id RETURNING 1)"
	" SELECT s.row_id, 'session ' || $2 || s.session_id || ' not found (its conversation was not imported)'"
	"   FROM src s WHERE NOT EXISTS (SELECT 1 FROM ok WHERE ok.row_id = s.row_id)"
	"    AND $3::text IS NOT NULL AND $4::text IS NOT NULL",
	[IMP_DOCUMENTS] =
	"WITH src AS (SELECT * FROM jsonb_to_recordset($1::jsonb)"
	"               AS r(row_id bigint, id text, url text, title text, content text)),"
	" ins AS (INSERT INTO pgkb.jobs (kind, payload)"
	"         SELECT 'ingest', jsonb_strip_nulls(jsonb_build_object('content', s.content,"
	"                  'url', coalesce(s.url, $3 || s.id), 'title', s.title, 'source_id', $4::text))"
	"           FROM src s ORDER BY s.row_id RETURNING 1)"
	" SELECT NULL::bigint, $2 || '' FROM src WHERE false",
};

static bool ok_cmd(struct cli *c, const char *sql)
{
	PGresult *r = cli_exec(c, "import", sql, 0, NULL);
	PQclear(r);
	return r != NULL;
}

/* The imports row of a table: its high-water mark, creating the row on the first run. */
static int hw_load(struct import *im, const char *table, long long *hw)
{
	const char *p[3] = {im->identity, im->map->name, table};
	PGresult *r = cli_exec(im->c, "import",
		"INSERT INTO pgkb_memory.imports (file_identity, mapping, source_table) VALUES ($1, $2, $3)"
		" ON CONFLICT DO NOTHING", 3, p);
	if (!r)
		return -1;
	PQclear(r);
	r = cli_exec(im->c, "import", "SELECT high_water FROM pgkb_memory.imports"
		" WHERE file_identity = $1 AND mapping = $2 AND source_table = $3", 3, p);
	if (!r)
		return -1;
	*hw = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

static void reject(json_t *rejects, long long rowid, char *reason)
{
	char *clean = utf8_clean_dup(reason, strlen(reason));
	json_array_append_new(rejects, json_pack("{s:I,s:s}", "row_id", (json_int_t)rowid, "reason", clean));
	free(clean);
	free(reason);
}

/* Converts column i of the statement into the field f of row; returns NULL or a heap reason. */
static char *convert(struct import *im, int target, sqlite3_stmt *st, int i, int f, json_t *row, size_t *bytes)
{
	int type = sqlite3_column_type(st, i);
	const char *name = imp_field_names[f];
	if (type == SQLITE_NULL) {
		if (f == F_ID || f == F_SESSION_ID || f == F_ROLE || f == F_CONTENT)
			return xasprintf("%s is NULL", name);
		return NULL;
	}
	if (f == F_CREATED_AT) {
		char ts[64];
		int rc;
		if (type == SQLITE_INTEGER || type == SQLITE_FLOAT)
			rc = imp_parse_time_number(sqlite3_column_double(st, i), ts, sizeof ts);
		else
			rc = imp_parse_time_text((const char *)sqlite3_column_text(st, i), (size_t)sqlite3_column_bytes(st, i),
			                         ts, sizeof ts);
		if (rc != 0) {
			char *shown = utf8_clean_dup((const char *)sqlite3_column_text(st, i),
			                             (size_t)sqlite3_column_bytes(st, i) > 40 ? 40 : (size_t)sqlite3_column_bytes(st, i));
			char *why = xasprintf("created_at: unparsable timestamp \"%s\"", shown);
			free(shown);
			return why;
		}
		json_object_set_new(row, "created_at", json_string(ts));
		return NULL;
	}
	if (f == F_TOKEN_COUNT) {
		sqlite3_int64 v = sqlite3_column_int64(st, i);
		if (type != SQLITE_INTEGER || v < 0 || v > INT_MAX)
			return xasprintf("token_count: not an integer from 0 to %d", INT_MAX);
		json_object_set_new(row, "token_count", json_integer((json_int_t)v));
		return NULL;
	}
	const char *s = (const char *)sqlite3_column_text(st, i);
	size_t len = (size_t)sqlite3_column_bytes(st, i);
	if (!s)
		return xasprintf("%s: out of memory reading the value", name);
	char *why = imp_check_text(name, s, len);
	if (why)
		return why;
	*bytes += len;
	size_t limit = f == F_CONTENT ? (target == IMP_DOCUMENTS ? (size_t)im->max_doc_bytes : MESSAGE_MAX_BYTES)
	             : f == F_METADATA ? METADATA_MAX_BYTES : (f == F_ID || f == F_SESSION_ID) ? ID_MAX_BYTES : 4096;
	if (len > limit)
		return xasprintf("%s: %zu bytes; the limit is %zu", name, len, limit);
	if (f == F_METADATA) {
		json_t *o = imp_parse_metadata(s, len, &why);
		if (!o)
			return why;
		json_object_set_new(row, "metadata", o);
		return NULL;
	}
	if (f == F_ROLE) {
		static const char *const roles[] = {"system", "user", "assistant", "tool"};
		for (size_t k = 0; k < 4; k++)
			if (strcasecmp(s, roles[k]) == 0 && len == strlen(roles[k])) {
				json_object_set_new(row, "role", json_string(roles[k]));
				return NULL;
			}
		char *shown = utf8_clean_dup(s, len > 40 ? 40 : len);
		why = xasprintf("role: \"%s\" is none of system, user, assistant, tool", shown);
		free(shown);
		return why;
	}
	json_object_set_new(row, name, json_stringn(s, len));
	return NULL;
}

/* Commits one batch: its rows, its rejects and the new high-water mark, in one transaction. */
static int commit_batch(struct import *im, int target, const char *table, long long hw_from, long long hw_to,
                        json_t *rows, json_t *rejects, long long *imported, long long *rejected)
{
	struct cli *c = im->c;
	char from[32], to[32], n_ok[32], n_bad[32];
	snprintf(from, sizeof from, "%lld", hw_from);
	snprintf(to, sizeof to, "%lld", hw_to);
	if (!ok_cmd(c, "BEGIN"))
		return -1;
	const char *lp[4] = {im->identity, im->map->name, table, from};
	PGresult *r = cli_exec(c, "import", "SELECT 1 FROM pgkb_memory.imports WHERE file_identity = $1 AND mapping = $2"
		" AND source_table = $3 AND high_water = $4::bigint FOR UPDATE", 4, lp);
	if (!r || PQntuples(r) != 1) {
		if (r)
			fprintf(stderr, "pgkb: import: the high-water mark of %s moved: is another import of this file running?\n",
			        table);
		PQclear(r);
		ok_cmd(c, "ROLLBACK");
		return -1;
	}
	PQclear(r);
	char *rows_text = json_dumps(rows, JSON_COMPACT);
	char url_prefix[PATH_MAX + 64];
	snprintf(url_prefix, sizeof url_prefix, "sqlite://%s/%s/", im->base, table);
	const char *tp[4] = {rows_text, im->prefix, url_prefix, im->source_id};
	r = json_array_size(rows) ? cli_exec(c, "import", target_sql[target], 4, tp) : NULL;
	free(rows_text);
	if (json_array_size(rows) && !r) {
		ok_cmd(c, "ROLLBACK");
		return -1;
	}
	/* rows the target refused (an existing session id, a message of a session not imported) join the rejects */
	int refused = r ? PQntuples(r) : 0;
	for (int i = 0; i < refused; i++)
		reject(rejects, strtoll(PQgetvalue(r, i, 0), NULL, 10), xstrdup(PQgetvalue(r, i, 1)));
	PQclear(r);
	long long bad = (long long)json_array_size(rejects), ok = (long long)json_array_size(rows) - refused;
	snprintf(n_ok, sizeof n_ok, "%lld", ok);
	snprintf(n_bad, sizeof n_bad, "%lld", bad);
	char *rej_text = json_dumps(rejects, JSON_COMPACT);
	const char *up[7] = {im->identity, im->map->name, table, to, n_ok, n_bad, rej_text};
	r = cli_exec(c, "import",
		"WITH rej AS (INSERT INTO pgkb_memory.import_rejects"
		"              SELECT $1, $2, $3, x.row_id, x.reason FROM jsonb_to_recordset($7::jsonb) AS x(row_id bigint, reason text)"
		"              ON CONFLICT DO NOTHING)"
		" UPDATE pgkb_memory.imports SET high_water = $4::bigint, imported = imported + $5::bigint,"
		"        rejected = rejected + $6::bigint, updated_at = now()"
		"  WHERE file_identity = $1 AND mapping = $2 AND source_table = $3", 7, up);
	free(rej_text);
	if (!r) {
		ok_cmd(c, "ROLLBACK");
		return -1;
	}
	PQclear(r);
	if (!ok_cmd(c, "COMMIT"))
		return -1;
	*imported += ok;
	*rejected += bad;
	return 0;
}

/* Imports one source table from its high-water mark on. */
static int import_table(struct import *im, int target)
{
	const struct imp_table *t = &im->map->t[target];
	long long hw;
	if (hw_load(im, t->table, &hw) != 0)
		return -1;
	struct buf sql = BUF_INIT;
	int fields[IMP_FIELDS], ncols = 0;
	buf_printf(&sql, "SELECT rowid");
	for (int f = 0; f < IMP_FIELDS; f++)
		if (t->cols[f]) {
			buf_printf(&sql, ", \"%s\"", t->cols[f]);
			fields[ncols++] = f;
		}
	buf_printf(&sql, " FROM \"%s\" WHERE rowid > ?1 ORDER BY rowid LIMIT ?2", t->table);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(im->db, buf_str(&sql), -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "pgkb: import: reading %s: %s\n", t->table, sqlite3_errmsg(im->db));
		buf_free(&sql);
		return -1;
	}
	buf_free(&sql);
	long long imported = 0, rejected = 0;
	int rc = 0;
	for (;;) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, hw);
		sqlite3_bind_int(st, 2, im->batch);
		json_t *rows = json_array(), *rejects = json_array();
		long long last = hw;
		size_t bytes = 0;
		int step = SQLITE_ROW;
		while (bytes < IMPORT_BATCH_BYTES && (step = sqlite3_step(st)) == SQLITE_ROW) {
			last = sqlite3_column_int64(st, 0);
			json_t *row = json_pack("{s:I}", "row_id", (json_int_t)last);
			char *why = NULL;
			for (int k = 0; k < ncols && !why; k++)
				why = convert(im, target, st, k + 1, fields[k], row, &bytes);
			if (why) {
				reject(rejects, last, why);
				json_decref(row);
			} else {
				json_array_append_new(rows, row);
			}
		}
		if (step != SQLITE_ROW && step != SQLITE_DONE) {
			fprintf(stderr, "pgkb: import: reading %s: %s\n", t->table, sqlite3_errmsg(im->db));
			rc = -1;
		} else if (last != hw) {
			rc = commit_batch(im, target, t->table, hw, last, rows, rejects, &imported, &rejected);
		}
		json_decref(rows);
		json_decref(rejects);
		if (rc != 0 || last == hw)
			break; /* an error, or nothing left past the high-water mark */
		hw = last;
	}
	sqlite3_finalize(st);
	if (rc == 0)
		fprintf(stderr, "%s: %lld rows imported, %lld rejected in this run\n", t->table, imported, rejected);
	return rc;
}

/* Source rows against imported + rejected for each table, and the rejected rows. Returns 0 when every count
 * matches and nothing was rejected, 3 when counts match with rejects, 1 otherwise. */
static int verify(struct import *im)
{
	int rc = 0;
	long long total_rejected = 0;
	printf("%-24s %12s %12s %12s  %s\n", "table", "source rows", "imported", "rejected", "check");
	for (int target = 0; target < IMP_TARGETS; target++) {
		const struct imp_table *t = &im->map->t[target];
		if (!t->table)
			continue;
		char *q = xasprintf("SELECT count(*) FROM \"%s\"", t->table);
		sqlite3_stmt *st = NULL;
		long long source = -1;
		if (sqlite3_prepare_v2(im->db, q, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
			source = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		free(q);
		const char *p[3] = {im->identity, im->map->name, t->table};
		PGresult *r = cli_exec(im->c, "import", "SELECT imported, rejected FROM pgkb_memory.imports"
			" WHERE file_identity = $1 AND mapping = $2 AND source_table = $3", 3, p);
		if (!r || PQntuples(r) != 1) {
			PQclear(r);
			return 1;
		}
		long long imp = strtoll(PQgetvalue(r, 0, 0), NULL, 10), rej = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
		PQclear(r);
		bool match = source == imp + rej;
		printf("%-24s %12lld %12lld %12lld  %s\n", t->table, source, imp, rej, match ? "ok" : "MISMATCH");
		if (!match)
			rc = 1;
		total_rejected += rej;
	}
	if (total_rejected > 0) {
		const char *p[2] = {im->identity, im->map->name};
		PGresult *r = cli_exec(im->c, "import", "SELECT source_table, source_row_id, reason FROM pgkb_memory.import_rejects"
			" WHERE file_identity = $1 AND mapping = $2 ORDER BY source_table, source_row_id LIMIT 100", 2, p);
		printf("\n%lld rows could not be imported (table, rowid, why):\n", total_rejected);
		for (int i = 0; r && i < PQntuples(r); i++) {
			printf("  %s\t%s\t", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
			cli_print_clean(stdout, PQgetvalue(r, i, 2));
			putchar('\n');
		}
		if (total_rejected > REPORT_MAX)
			printf("  … and %lld more: SELECT * FROM pgkb_memory.import_rejects WHERE file_identity = '%s'\n",
			       total_rejected - REPORT_MAX, im->identity);
		PQclear(r);
		if (rc == 0)
			rc = 3;
	}
	return rc;
}

static int usage(void)
{
	fprintf(stderr, "usage: pgkb import sqlite FILE [--map builtin|MAPPING.yaml] [--import-id ID] [--prefix P]\n"
	                "                          [--source ID] [--batch N]\n");
	return 2;
}

static int load_map(const char *spec, struct imp_map *m)
{
	if (!spec || strcmp(spec, "builtin") == 0) {
		imp_map_builtin(m);
		return 0;
	}
	char *text = NULL, *err = NULL;
	size_t len = 0;
	struct file_error fe;
	if (file_read(spec, 1 << 20, FILE_REGULAR, &text, &len, &fe) != 0) {
		err = file_error_message(spec, 1 << 20, &fe);
		fprintf(stderr, "pgkb: import: --map %s\n", err);
		free(err);
		return -1;
	}
	char *abs = realpath(spec, NULL);
	int rc = imp_map_parse_yaml(m, text, len, abs ? abs : spec, &err);
	free(abs);
	free(text);
	if (rc != 0) {
		fprintf(stderr, "pgkb: import: --map %s: %s\n", spec, err);
		free(err);
	}
	return rc;
}

int cli_import(struct cli *c, int argc, char **argv)
{
	if (argc < 3 || strcmp(argv[1], "sqlite") != 0)
		return usage();
	const char *file = argv[2], *map_spec = NULL, *identity = NULL, *prefix = "", *source = NULL;
	int batch = IMPORT_BATCH_DEFAULT;
	for (int i = 3; i < argc; i += 2) {
		if (i + 1 >= argc)
			return usage();
		if (strcmp(argv[i], "--map") == 0)
			map_spec = argv[i + 1];
		else if (strcmp(argv[i], "--import-id") == 0)
			identity = argv[i + 1];
		else if (strcmp(argv[i], "--prefix") == 0)
			prefix = argv[i + 1];
		else if (strcmp(argv[i], "--source") == 0)
			source = argv[i + 1];
		else if (strcmp(argv[i], "--batch") == 0 && (batch = atoi(argv[i + 1])) >= 1 && batch <= IMPORT_BATCH_MAX)
			continue;
		else
			return usage();
	}
	struct imp_map map;
	if (load_map(map_spec, &map) != 0)
		return 2;
	char *abs = realpath(file, NULL);
	sqlite3 *db = NULL;
	/* opening is lazy: reading the schema is what finds a file that is no SQLite database */
	if (!abs || sqlite3_open_v2(abs, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "pgkb: import: %s: %s\n", file, abs ? sqlite3_errmsg(db) : strerror(errno));
		sqlite3_close(db);
		free(abs);
		imp_map_free(&map);
		return 1;
	}
	const char *slash = strrchr(abs, '/');
	char *base = xstrdup(slash ? slash + 1 : abs), *dot = strrchr(base, '.');
	if (dot && dot != base)
		*dot = '\0';
	char *source_id = source ? xstrdup(source) : xasprintf("sqlite-%s", base);
	struct import im = {
		.c = c, .db = db, .map = &map, .identity = identity ? identity : abs, .prefix = prefix,
		.source_id = source_id, .base = base, .batch = batch, .max_doc_bytes = c->cfg.max_document_bytes,
	};
	int rc = cli_connect(c) != 0 ? 1 : 0;
	for (int t = 0; rc == 0 && t < IMP_TARGETS; t++)
		if (map.t[t].table && import_table(&im, t) != 0)
			rc = 1;
	if (rc == 0)
		rc = verify(&im);
	sqlite3_close(db);
	free(source_id);
	free(base);
	free(abs);
	imp_map_free(&map);
	return rc;
}
