/* Merging write lists into one request, and handing each its own outcome. */
#include "lib/pg/pgbatch.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util/mem.h"

void pg_batch_part_init(struct pg_batch_part *p, struct pg_req *writes)
{
	*p = (struct pg_batch_part){.writes = writes ? writes : pg_req_new(NULL, NULL)};
}

void pg_batch_part_clear(struct pg_batch_part *p)
{
	pg_req_free(p->writes);
	free(p->at);
	p->writes = NULL;
	p->at = NULL;
}

static void append(struct pg_batch *b, struct pg_batch_part *p, int cost)
{
	b->calls += cost;
	p->next = NULL;
	if (b->tail)
		b->tail->next = p;
	else
		b->head = p;
	b->tail = p;
	b->n++;
}

void pg_batch_add(struct pg_batch *b, struct pg_batch_part *p)
{
	append(b, p, pg_batch_cost(b, p->writes));
}

bool pg_batch_try_add(struct pg_batch *b, struct pg_batch_part *p, int max_calls)
{
	int cost = pg_batch_cost(b, p->writes);
	if (b->calls + cost > max_calls)
		return false;
	append(b, p, cost);
	return true;
}

/* True when call i of a and call j of b would do the same: one statement, equal parameters and formats. */
static bool same_call(const struct pg_req *a, int i, const struct pg_req *b, int j)
{
	if (a->calls[i].stmt != b->calls[j].stmt)
		return false;
	const char *p[PG_MAX_PARAMS], *q[PG_MAX_PARAMS];
	int pl[PG_MAX_PARAMS], ql[PG_MAX_PARAMS], pf[PG_MAX_PARAMS], qf[PG_MAX_PARAMS];
	pg_req_params_fmt(a, i, p, pl, pf);
	pg_req_params_fmt(b, j, q, ql, qf);
	for (int k = 0; k < a->calls[i].nparams; k++) {
		if ((p[k] == NULL) != (q[k] == NULL) || pf[k] != qf[k] || pl[k] != ql[k])
			return false;
		if (p[k] && (pf[k] ? memcmp(p[k], q[k], (size_t)pl[k]) : strcmp(p[k], q[k])) != 0)
			return false;
	}
	return true;
}

int pg_batch_cost(const struct pg_batch *b, const struct pg_req *writes)
{
	int cost = 0;
	for (int i = 0; i < writes->ncalls; i++) {
		const struct pg_call *c = &writes->calls[i];
		bool shared = false;
		for (const struct pg_batch_part *g = b->head; g && !shared && (c->row || c->once); g = g->next)
			for (int j = 0; j < g->writes->ncalls && !shared; j++)
				shared = c->row ? g->writes->calls[j].row && g->writes->calls[j].stmt == c->stmt
				                : g->writes->calls[j].once && same_call(writes, i, g->writes, j);
		cost += !shared;
	}
	return cost;
}

/* Steps (*p, *i) to the next row call of stmt (pg_req_row) not yet placed; false at the end. Start with *p the
 * first part and *i -1. */
static bool next_row(struct pg_batch_part **p, int *i, const struct pg_stmt *stmt)
{
	for (; *p; *p = (*p)->next, *i = -1)
		while (++*i < (*p)->writes->ncalls) {
			const struct pg_call *c = &(*p)->writes->calls[*i];
			if (c->row && c->stmt == stmt && (*p)->at[*i].place == PG_BATCH_UNPLACED)
				return true;
		}
	return false;
}

/* The unplaced rows of stmt from part head on, as one call of req: each parameter the array of their values, a
 * text array literal, or a binary bytea[] for a parameter that some row sends binary (pg_req_bytes). */
static void add_rows(struct pg_req *req, struct pg_batch_part *head, const struct pg_stmt *stmt)
{
	unsigned binary = 0; /* a parameter binary in one row is binary in all */
	int nrows = 0;
	size_t val_len[PG_MAX_PARAMS] = {0};
	bool has_null[PG_MAX_PARAMS] = {0};
	struct pg_batch_part *p = head;
	int i = -1;
	/* sizing pass: the arrays are built once, at their final size */
	while (next_row(&p, &i, stmt)) {
		const char *v[PG_MAX_PARAMS];
		int len[PG_MAX_PARAMS], fmt[PG_MAX_PARAMS];
		pg_req_params_fmt(p->writes, i, v, len, fmt);
		nrows++;
		binary |= p->writes->calls[i].binary;
		for (int k = 0; k < stmt->nparams; k++) {
			has_null[k] |= !v[k];
			val_len[k] += !v[k] ? 0 : fmt[k] ? (size_t)len[k] : strlen(v[k]);
		}
	}
	struct buf arrays[PG_MAX_PARAMS];
	for (int k = 0; k < stmt->nparams; k++) {
		arrays[k] = (struct buf)BUF_INIT;
		if (binary & (1u << k))
			pg_bytea_array_start(&arrays[k], nrows, has_null[k], val_len[k]);
		else
			buf_reserve(&arrays[k], val_len[k] + 8 * (size_t)nrows + 2); /* quotes, commas, a few escapes */
	}
	int call = req->ncalls; /* the array call's index once added */
	for (p = head, i = -1; next_row(&p, &i, stmt);) {
		const struct pg_call *c = &p->writes->calls[i];
		const char *v[PG_MAX_PARAMS];
		int len[PG_MAX_PARAMS];
		pg_req_params_fmt(p->writes, i, v, len, NULL);
		for (int k = 0; k < stmt->nparams; k++) {
			if (!(binary & (1u << k)))
				pg_array_add(&arrays[k], v[k]);
			else /* a text value in a binary column: its bytes */
				pg_bytea_array_add(&arrays[k], v[k], (c->binary >> k) & 1u ? (size_t)len[k] : v[k] ? strlen(v[k]) : 0);
		}
		p->at[i] = (struct pg_batch_at){PG_BATCH_ROWS, call};
	}
	const char *params[PG_MAX_PARAMS];
	for (int k = 0; k < stmt->nparams; k++) {
		if (!(binary & (1u << k)))
			pg_array_close(&arrays[k]);
		params[k] = binary & (1u << k) ? NULL : buf_str(&arrays[k]);
	}
	pg_req_add(req, stmt, params);
	for (int k = 0; k < stmt->nparams; k++) {
		if (binary & (1u << k))
			pg_req_bytes(req, k, arrays[k].data, arrays[k].len);
		buf_free(&arrays[k]);
	}
}

/* Appends a copy of p's call i to req as a call of its own. */
static void add_call(struct pg_req *req, struct pg_batch_part *p, int i)
{
	pg_req_copy_call(req, p->writes, i);
	p->at[i] = (struct pg_batch_at){PG_BATCH_CALL, req->ncalls - 1};
}

void pg_batch_merge(struct pg_req *req, const struct pg_batch *b)
{
	for (struct pg_batch_part *p = b->head; p; p = p->next) {
		p->at = xrealloc(p->at, ((size_t)p->writes->ncalls + 1) * sizeof *p->at);
		for (int i = 0; i < p->writes->ncalls; i++) {
			const struct pg_call *c = &p->writes->calls[i];
			p->at[i] = (struct pg_batch_at){PG_BATCH_UNPLACED, -1};
			if (!c->row && !c->once)
				add_call(req, p, i);
		}
	}
	for (struct pg_batch_part *p = b->head; p; p = p->next)
		for (int i = 0; i < p->writes->ncalls; i++)
			if (p->writes->calls[i].row && p->at[i].place == PG_BATCH_UNPLACED)
				add_rows(req, p, p->writes->calls[i].stmt);
	/* once-calls last: settings and checks that act on the transaction as a whole */
	int first_once = req->ncalls;
	for (struct pg_batch_part *p = b->head; p; p = p->next)
		for (int i = 0; i < p->writes->ncalls; i++) {
			if (p->at[i].place != PG_BATCH_UNPLACED)
				continue;
			for (int j = first_once; j < req->ncalls && p->at[i].place == PG_BATCH_UNPLACED; j++)
				if (same_call(p->writes, i, req, j))
					p->at[i] = (struct pg_batch_at){PG_BATCH_CALL, j};
			if (p->at[i].place == PG_BATCH_UNPLACED)
				add_call(req, p, i);
		}
}

void pg_batch_deliver(const struct pg_batch_part *p, struct pg_req *req, const struct pg_outcome *out)
{
	if (!p->writes->cb)
		return;
	int n = p->writes->ncalls;
	PGresult **res = xcalloc((size_t)n + 1, sizeof *res);
	struct pg_outcome o = *out;
	o.failed_index = -1;
	for (int i = 0; i < n && p->at; i++) {
		if (p->at[i].place != PG_BATCH_CALL)
			continue;
		int at = p->at[i].call;
		if (at < out->nresults)
			res[i] = out->results[at];
		if (at == out->failed_index)
			o.failed_index = i;
	}
	o.results = res;
	o.nresults = n;
	p->writes->cb(req, &o, p->writes->arg);
	free(res);
}
