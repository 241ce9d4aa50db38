/* Database requests: prepared statements and the pipelined, all-or-nothing requests that carry them. */
#ifndef PGKB_PGREQ_H
#define PGKB_PGREQ_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "lib/util/buf.h"

/* A parameterised statement. Defined once (static const) by the module that owns the SQL and prepared
 * lazily, once per connection, under its name. */
struct pg_stmt {
	const char *name;
	const char *sql;
	int nparams;
};

/* Outcome of a request, handed to its callback. */
struct pg_outcome {
	bool ok;            /* every statement succeeded and the implicit transaction committed */
	bool unknown;       /* the connection broke after sending: the transaction may or may not have committed */
	const char *error;  /* first error message (NULL when ok) */
	const char *sqlstate; /* its SQLSTATE ("" when not from the server) */
	int failed_index;   /* which statement failed, -1 if none or not known */
	int nresults;
	PGresult **results; /* one per statement, in order; NULL where a statement did not run */
};

struct pg_req;
/* Called exactly once per submitted request, from the loop. The request and its results are freed after it
 * returns: copy what you keep. */
typedef void (*pg_done_cb)(struct pg_req *req, const struct pg_outcome *out, void *arg);

#define PG_REQ_MAX_CALLS 64
#define PG_MAX_PARAMS 16

struct pg_call {
	const struct pg_stmt *stmt;
	int nparams;
	size_t param_off[PG_MAX_PARAMS]; /* offsets into req->params; SIZE_MAX means SQL NULL */
	int param_len[PG_MAX_PARAMS];    /* the length of a binary parameter */
	unsigned binary;                 /* bit p: parameter p is sent in binary (pg_req_bytes) */
	bool row;                        /* see pg_req_row */
	bool once;                       /* see pg_req_once */
};

struct pg_req {
	struct pg_req *next; /* pool queue link */
	pg_done_cb cb;
	void *arg;
	int ncalls;
	struct pg_call calls[PG_REQ_MAX_CALLS];
	struct buf params; /* parameter values, NUL-separated */
};

/* A request runs its statements in order as one implicit transaction (pipeline mode, one Sync): if one
 * fails, none of them takes effect. */
struct pg_req *pg_req_new(pg_done_cb cb, void *arg);
/* Appends a statement with stmt->nparams text parameters (NULL is SQL NULL). Aborts the program on misuse
 * (more than PG_REQ_MAX_CALLS statements or a parameter count mismatch): those are programming errors. */
void pg_req_add(struct pg_req *req, const struct pg_stmt *stmt, const char *const *params);
/* Same, with the parameters as arguments (exactly stmt->nparams of them). */
void pg_req_addl(struct pg_req *req, const struct pg_stmt *stmt, ...);
/* For write lists that are merged with others into one request (lib/pg/pgbatch.h); both mark the call added
 * last. pg_req_row: the call is one row of its statement, which takes each parameter as an array; the rows of
 * one statement are sent as one call, each parameter the array of the rows' values. pg_req_once: identical
 * calls (same statement and parameters) are sent once per request, after the other calls: settings and checks
 * that act on the transaction as a whole. */
void pg_req_row(struct pg_req *req);
void pg_req_once(struct pg_req *req);
/* Makes parameter p of the call added last the len bytes at data, sent in binary (no hex text to encode and
 * decode): the statement must take it as bytea, or as bytea[] in a row (pg_req_row). */
void pg_req_bytes(struct pg_req *req, int p, const void *data, size_t len);
/* Appends a copy of src's call i to req, parameters, formats and marks included. */
void pg_req_copy_call(struct pg_req *req, const struct pg_req *src, int i);
void pg_req_free(struct pg_req *req);
/* The parameter pointers of call i, valid while the request lives; lengths and formats (1: binary) as libpq
 * takes them, when not NULL. */
void pg_req_params(const struct pg_req *req, int i, const char **out);
void pg_req_params_fmt(const struct pg_req *req, int i, const char **out, int *lengths, int *formats);

/* Builds a PostgreSQL array literal in an initially empty b, one element per call: pg_array_add a text value
 * (quoted; NULL: SQL NULL), pg_array_add_int a number; pg_array_close ends it ("{1,2,3}", "{}"). */
void pg_array_add(struct buf *b, const char *v);
void pg_array_add_int(struct buf *b, long long v);
void pg_array_close(struct buf *b);

/* A one-dimensional bytea[] in PostgreSQL's binary array format, for a binary parameter (pg_req_bytes):
 * pg_bytea_array_start writes into b the header of an array of n elements (has_null: some are NULL) and makes
 * room for data_len bytes of element data; then pg_bytea_array_add once per element (data NULL: SQL NULL). */
void pg_bytea_array_start(struct buf *b, int n, bool has_null, size_t data_len);
void pg_bytea_array_add(struct buf *b, const void *data, size_t len);

/* Result helpers: the text of (row, col) or NULL for SQL NULL; integer conversions default to 0. */
const char *pg_value(const PGresult *res, int row, int col);
long long pg_int(const PGresult *res, int row, int col);

#endif
