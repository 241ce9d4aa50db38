/* Database requests: building the statement list and reading results. */
#include "lib/pg/pgreq.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/mem.h"

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

static struct pg_call *last_call(struct pg_req *req);

void pg_req_params(const struct pg_req *req, int i, const char **out)
{
	pg_req_params_fmt(req, i, out, NULL, NULL);
}

void pg_req_params_fmt(const struct pg_req *req, int i, const char **out, int *lengths, int *formats)
{
	const struct pg_call *c = &req->calls[i];
	for (int p = 0; p < c->nparams; p++) {
		out[p] = c->param_off[p] == SIZE_MAX ? NULL : req->params.data + c->param_off[p];
		if (lengths)
			lengths[p] = c->binary & (1u << p) ? c->param_len[p] : 0;
		if (formats)
			formats[p] = (c->binary >> p) & 1u;
	}
}

void pg_req_bytes(struct pg_req *req, int p, const void *data, size_t len)
{
	struct pg_call *c = last_call(req);
	if (p < 0 || p >= c->nparams || len > INT32_MAX) {
		fprintf(stderr, "pgkb: binary parameter %d of %s is out of range\n", p, c->stmt->name);
		abort();
	}
	c->param_off[p] = req->params.len;
	c->param_len[p] = (int)len;
	c->binary |= 1u << p;
	buf_append(&req->params, data, len);
}

void pg_req_copy_call(struct pg_req *req, const struct pg_req *src, int i)
{
	const struct pg_call *c = &src->calls[i];
	const char *p[PG_MAX_PARAMS];
	pg_req_params(src, i, p);
	for (int k = 0; k < c->nparams; k++)
		if (c->binary & (1u << k))
			p[k] = NULL; /* set below */
	pg_req_add(req, c->stmt, p);
	for (int k = 0; k < c->nparams; k++)
		if (c->binary & (1u << k))
			pg_req_bytes(req, k, src->params.data + c->param_off[k], (size_t)c->param_len[k]);
	req->calls[req->ncalls - 1].row = c->row;
	req->calls[req->ncalls - 1].once = c->once;
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

void pg_array_add_int(struct buf *b, long long v)
{
	buf_printf(b, "%c%lld", b->len ? ',' : '{', v);
}

void pg_array_close(struct buf *b)
{
	if (!b->len)
		buf_putc(b, '{');
	buf_putc(b, '}');
}

static void put_be32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
	                      (unsigned char)v};
	buf_append(b, x, sizeof x);
}

#define BYTEA_OID 17 /* pg_type.oid of bytea, fixed in every PostgreSQL */

void pg_bytea_array_start(struct buf *b, int n, bool has_null, size_t data_len)
{
	buf_reserve(b, 20 + 4 * (size_t)n + data_len);
	put_be32(b, n ? 1 : 0); /* dimensions */
	put_be32(b, has_null);
	put_be32(b, BYTEA_OID);
	if (n) {
		put_be32(b, (uint32_t)n); /* length of the dimension */
		put_be32(b, 1);           /* its lower bound */
	}
}

void pg_bytea_array_add(struct buf *b, const void *data, size_t len)
{
	if (!data) {
		put_be32(b, UINT32_MAX); /* length -1 */
		return;
	}
	put_be32(b, (uint32_t)len);
	buf_append(b, data, len);
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
