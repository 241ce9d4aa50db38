/* Merging several write lists (pg_req) into one request: one transaction and one round trip for many callers'
 * writes. Rows of a statement (pg_req_row) become one array call, identical once-calls (pg_req_once) are sent
 * once, and each part's own callback later gets the outcome of its writes alone. What to merge, how many parts
 * and when to send are the caller's decisions. */
#ifndef PGKB_PGBATCH_H
#define PGKB_PGBATCH_H

#include <stdbool.h>

#include "lib/pg/pgreq.h"

/* Where one call of a part went in the merged request. */
enum pg_batch_place {
	PG_BATCH_UNPLACED, /* not (yet) in a merged request */
	PG_BATCH_CALL,     /* a call of the merged request: its own, or a once-call shared with identical ones */
	PG_BATCH_ROWS,     /* one row of its statement's array call: it has no result of its own */
};

struct pg_batch_at {
	enum pg_batch_place place;
	int call; /* the merged request's call index (PG_BATCH_CALL, PG_BATCH_ROWS), else -1 */
};

/* One write list of a batch. The part owns writes (kept until the caller is done with the outcome, so that a
 * failed batch can send it again alone); writes' callback, when it has one, is the part's own. */
struct pg_batch_part {
	struct pg_req *writes;
	struct pg_batch_at *at; /* per call of writes, filled by pg_batch_merge */
	struct pg_batch_part *next;
};

/* Parts in the order they are merged, and the calls their merge sends at most. */
struct pg_batch {
	struct pg_batch_part *head, *tail;
	int n;
	int calls;
};

/* Makes p a part of no batch, holding writes (NULL: an empty write list). */
void pg_batch_part_init(struct pg_batch_part *p, struct pg_req *writes);
/* Frees what p holds: writes and the placement. */
void pg_batch_part_clear(struct pg_batch_part *p);

/* The calls that writes would add to b's merged request, an upper bound: rows of a statement or a once-call
 * that b already sends add none. */
int pg_batch_cost(const struct pg_batch *b, const struct pg_req *writes);
/* Appends p to b. */
void pg_batch_add(struct pg_batch *b, struct pg_batch_part *p);
/* Appends p to b only while b's merge then sends at most max_calls calls; false (b unchanged) otherwise. */
bool pg_batch_try_add(struct pg_batch *b, struct pg_batch_part *p, int max_calls);

/* Appends b's writes to req (after the calls req already has): plain calls in part order, then one call per
 * statement of rows, each parameter the array of the rows' values (a text array literal, or a binary bytea[]
 * where a row sends it binary), then each distinct once-call. Records in each part's at where its calls went.
 * The caller keeps req's calls and b's within PG_REQ_MAX_CALLS (pg_batch_try_add). */
void pg_batch_merge(struct pg_req *req, const struct pg_batch *b);

/* Runs p's writes' callback, if any, with the merged request's outcome seen from p: results[i] and
 * failed_index for p's call i (results NULL for a row, PG_BATCH_ROWS); the caller's own calls are left out. */
void pg_batch_deliver(const struct pg_batch_part *p, struct pg_req *req, const struct pg_outcome *out);

#endif
