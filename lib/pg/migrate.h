/* Schema migrations: schema/NNN_name.sql applied in order, each in its own transaction, recorded with a
 * checksum in pgkb.schema_migrations (archon_migrations is Archon's); concurrent runs serialise on an
 * advisory lock. */
#ifndef PGKB_MIGRATE_H
#define PGKB_MIGRATE_H

#include <libpq-fe.h>
#include <stdio.h>

/* Directory holding the migrations: $PGKB_SCHEMA_DIR, else the source tree's schema/, else the installed
 * share/pgkb/schema. */
const char *migrate_dir(void);

/* Applies every pending migration from dir. Reports each applied file on out. Returns the number applied,
 * or -1 with *err set (a heap message naming the file) — e.g. when an applied migration's file changed. */
int migrate_apply(PGconn *conn, const char *dir, FILE *out, char **err);

/* Prints applied and pending migrations. Returns the number pending, or -1 with *err set. */
int migrate_status(PGconn *conn, const char *dir, FILE *out, char **err);

#endif
