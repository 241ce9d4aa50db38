/* Database requests: building the statement list and reading results. */
#include "pgreq.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

struct pg_req *pg_req_new(pg_done_cb cb, void *arg)
{
	struct pg_req *req = xcalloc(1, sizeof *req);
	req->cb = cb;
	req->arg = arg;
	return req;
}

void pg_req_add(struct pg_req *req, const struct pg_stmt *stmt, const char *const *params)
{
	if (req->ncalls == PG_REQ_MAX_CALLS || stmt->nparams > PG_MAX_PARAMS) {
		fprintf(stderr, "pgkb: request for %s exceeds the statement or parameter limit\n", stmt->name);
		abort();
	}
	struct pg_call *c = &req->calls[req->ncalls++];
	*c = (struct pg_call){.stmt = stmt};
	c->nparams = stmt->nparams;
	for (int i = 0; i < stmt->nparams; i++) {
		if (!params[i]) {
			c->param_off[i] = SIZE_MAX;
			continue;
		}
		c->param_off[i] = req->params.len;
		buf_append(&req->params, params[i], strlen(params[i]) + 1);
	}
}

void pg_req_addl(struct pg_req *req, const struct pg_stmt *stmt, ...)
{
	const char *params[PG_MAX_PARAMS];
	va_list ap;
	va_start(ap, stmt);
	for (int i = 0; i < stmt->nparams && i < PG_MAX_PARAMS; i++)
		params[i] = va_arg(ap, const char *);
	va_end(ap);
	pg_req_add(req, stmt, params);
}

void pg_req_params(const struct pg_req *req, int i, const char **out)
{
	const struct pg_call *c = &req->calls[i];
	for (int p = 0; p < c->nparams; p++)
		out[p] = c->param_off[p] == SIZE_MAX ? NULL : req->params.data + c->param_off[p];
}

static struct pg_call *last_call(struct pg_req *req)
{
	if (req->ncalls == 0) {
		fprintf(stderr, "pgkb: marking a call of an empty request\n");
		abort();
	}
	return &req->calls[req->ncalls - 1];
}

void pg_req_row(struct pg_req *req)
{
	last_call(req)->row = true;
}

void pg_req_once(struct pg_req *req)
{
	last_call(req)->once = true;
}

void pg_req_free(struct pg_req *req)
{
	if (!req)
		return;
	buf_free(&req->params);
	free(req);
}

void pg_array_add(struct buf *b, const char *v)
{
	buf_putc(b, b->len ? ',' : '{');
	if (!v) {
		buf_puts(b, "NULL");
		return;
	}
	buf_putc(b, '"');
	for (;;) {
		size_t n = strcspn(v, "\"\\");
		buf_append(b, v, n);
		if (!v[n])
			break;
		buf_putc(b, '\\');
		buf_putc(b, v[n]);
		v += n + 1;
	}
	buf_putc(b, '"');
}

void pg_array_close(struct buf *b)
{
	if (!b->len)
		buf_putc(b, '{');
	buf_putc(b, '}');
}

const char *pg_value(const PGresult *res, int row, int col)
{
	if (!res || row >= PQntuples(res) || col >= PQnfields(res) || PQgetisnull(res, row, col))
		return NULL;
	return PQgetvalue(res, row, col);
}

long long pg_int(const PGresult *res, int row, int col)
{
	const char *v = pg_value(res, row, col);
	return v ? strtoll(v, NULL, 10) : 0;
}
