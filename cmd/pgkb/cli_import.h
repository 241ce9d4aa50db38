/* pgkb import sqlite: the mapping from a SQLite store's tables to pgkb's (sessions, messages, documents) and
 * the conversion of one value, kept apart from the command so that they are unit-tested on their own. */
#ifndef PGKB_CLI_IMPORT_H
#define PGKB_CLI_IMPORT_H

#include <jansson.h>
#include <stddef.h>

enum imp_target { IMP_SESSIONS, IMP_MESSAGES, IMP_DOCUMENTS, IMP_TARGETS };

/* The fields of each target, in this order; a field's column is NULL when the source has none. */
enum imp_field {
	F_ID, /* every target: the source's id of the row (text or integer) */
	F_SESSION_ID, F_USER_ID, F_TITLE, F_ROLE, F_CONTENT, F_METADATA, F_CREATED_AT, F_TOKEN_COUNT, F_URL,
	IMP_FIELDS
};

struct imp_table {
	char *table;              /* source table; NULL: this target is not imported */
	char *cols[IMP_FIELDS];   /* source column of each field, or NULL */
};

struct imp_map {
	char *name; /* "builtin", or the YAML file's path */
	struct imp_table t[IMP_TARGETS];
};

/* Names as the YAML file spells them. */
extern const char *const imp_target_names[IMP_TARGETS];
extern const char *const imp_field_names[IMP_FIELDS];

/* The built-in mapping: conversations(id, user_id, title, metadata, created_at), messages(id,
 * conversation_id, role, content, metadata, created_at), documents(id, url, title, content). */
void imp_map_builtin(struct imp_map *m);
/* Reads a YAML mapping (at most 64 KiB): top-level keys sessions, messages, documents, each a mapping with
 * "table" and field: column pairs (a target left out is not imported). Table and column names must be plain
 * identifiers. Returns 0, or -1 with a heap *err naming the problem and its line. */
int imp_map_parse_yaml(struct imp_map *m, const char *text, size_t len, const char *name, char **err);
void imp_map_free(struct imp_map *m);

/* A text value of the source: NULL when it is clean UTF-8 without NUL bytes, else a heap reason
 * ("content: NUL byte at offset 12", "title: invalid UTF-8 at byte 3"). */
char *imp_check_text(const char *field, const char *s, size_t len);
/* A timestamp of the source, as text (ISO 8601 / SQL: "2024-03-01", "2024-03-01 12:00", "…T12:00:05.25Z",
 * "…+02:00", digits only: Unix seconds) or as a number (Unix seconds; from 1e11 on, milliseconds). Writes
 * "YYYY-MM-DD HH:MM:SS.ffffff+00:00"-style text PostgreSQL reads into out (at least 40 bytes). Returns 0, or -1
 * for a value that is no valid time between the years 1900 and 2200. */
int imp_parse_time_text(const char *s, size_t len, char *out, size_t outsz);
int imp_parse_time_number(double v, char *out, size_t outsz);
/* JSON metadata: NULL or empty text is {}; anything else must be a JSON object. Returns the object (new
 * reference), or NULL with a heap *err. */
json_t *imp_parse_metadata(const char *s, size_t len, char **err);

#endif
