/* Unit tests: merging write lists into one request (lib/pg/pgbatch), with no server: the merged request's
 * calls and parameters, where each part's calls went, the outcome each part's callback sees, the cost limits. */
#include <stdint.h>
#include <stdlib.h>

#include "lib/pg/pgbatch.h"
#include "testlib.h"

static const struct pg_stmt row_a = {"row_a", "INSERT INTO a SELECT * FROM unnest($1::text[], $2::text[])", 2};
static const struct pg_stmt row_b = {"row_b", "INSERT INTO b SELECT * FROM unnest($1::bytea[])", 1};
static const struct pg_stmt plain = {"plain", "UPDATE c SET v = $1", 1};
static const struct pg_stmt setting = {"setting", "SELECT set_config($1, $2, true)", 2};
static const struct pg_stmt own = {"own", "SELECT 1", 0};

/* A write list: its calls are added by the test. */
static struct pg_batch_part *part_new(pg_done_cb cb, void *arg)
{
	struct pg_batch_part *p = malloc(sizeof *p);
	pg_batch_part_init(p, pg_req_new(cb, arg));
	return p;
}

static void part_free(struct pg_batch_part *p)
{
	pg_batch_part_clear(p);
	free(p);
}

static void add_row_a(struct pg_batch_part *p, const char *x, const char *y)
{
	pg_req_addl(p->writes, &row_a, x, y);
	pg_req_row(p->writes);
}

static void add_setting(struct pg_batch_part *p, const char *name, const char *value)
{
	pg_req_addl(p->writes, &setting, name, value);
	pg_req_once(p->writes);
}

/* Parameter k of call i of req, as text. */
static const char *param(const struct pg_req *req, int i, int k)
{
	const char *v[PG_MAX_PARAMS];
	pg_req_params(req, i, v);
	return v[k];
}

static void assert_at(const struct pg_batch_part *p, int i, enum pg_batch_place place, int call)
{
	ASSERT_INT_EQ(p->at[i].place, place);
	ASSERT_INT_EQ(p->at[i].call, call);
}

TEST(rows_of_one_statement_become_one_array_call)
{
	struct pg_batch b = {0};
	struct pg_batch_part *p1 = part_new(NULL, NULL), *p2 = part_new(NULL, NULL), *p3 = part_new(NULL, NULL);
	add_row_a(p1, "x1", "y1");
	add_row_a(p2, "x \"2\"", NULL);
	add_row_a(p2, "x3", "y\\3");
	add_row_a(p3, "x4", "y4");
	pg_batch_add(&b, p1);
	pg_batch_add(&b, p2);
	pg_batch_add(&b, p3);
	ASSERT_INT_EQ(b.n, 3);
	ASSERT_INT_EQ(b.calls, 1);
	struct pg_req *req = pg_req_new(NULL, NULL);
	pg_batch_merge(req, &b);
	ASSERT_INT_EQ(req->ncalls, 1);
	ASSERT_TRUE(req->calls[0].stmt == &row_a);
	ASSERT_TRUE(!req->calls[0].row); /* the array call is an ordinary call */
	ASSERT_STR_EQ(param(req, 0, 0), "{\"x1\",\"x \\\"2\\\"\",\"x3\",\"x4\"}");
	ASSERT_STR_EQ(param(req, 0, 1), "{\"y1\",NULL,\"y\\\\3\",\"y4\"}");
	assert_at(p1, 0, PG_BATCH_ROWS, 0);
	assert_at(p2, 0, PG_BATCH_ROWS, 0);
	assert_at(p2, 1, PG_BATCH_ROWS, 0);
	assert_at(p3, 0, PG_BATCH_ROWS, 0);
	pg_req_free(req);
	part_free(p1);
	part_free(p2);
	part_free(p3);
}

TEST(different_statements_are_kept_apart_in_order)
{
	struct pg_batch b = {0};
	struct pg_batch_part *p1 = part_new(NULL, NULL), *p2 = part_new(NULL, NULL);
	add_row_a(p1, "a1", "b1");
	pg_req_addl(p1->writes, &plain, "p1");
	pg_req_addl(p2->writes, &row_b, "bytes");
	pg_req_row(p2->writes);
	pg_req_addl(p2->writes, &plain, "p2");
	add_row_a(p2, "a2", "b2");
	pg_batch_add(&b, p1);
	pg_batch_add(&b, p2);
	struct pg_req *req = pg_req_new(NULL, NULL);
	pg_req_addl(req, &own); /* the caller's own call stays first */
	pg_batch_merge(req, &b);
	/* own, the plain calls in part order, then one call per statement of rows, in order of first appearance */
	ASSERT_INT_EQ(req->ncalls, 5);
	ASSERT_TRUE(req->calls[0].stmt == &own);
	ASSERT_TRUE(req->calls[1].stmt == &plain);
	ASSERT_STR_EQ(param(req, 1, 0), "p1");
	ASSERT_TRUE(req->calls[2].stmt == &plain);
	ASSERT_STR_EQ(param(req, 2, 0), "p2");
	ASSERT_TRUE(req->calls[3].stmt == &row_a);
	ASSERT_STR_EQ(param(req, 3, 0), "{\"a1\",\"a2\"}");
	ASSERT_TRUE(req->calls[4].stmt == &row_b);
	ASSERT_STR_EQ(param(req, 4, 0), "{\"bytes\"}");
	assert_at(p1, 0, PG_BATCH_ROWS, 3);
	assert_at(p1, 1, PG_BATCH_CALL, 1);
	assert_at(p2, 0, PG_BATCH_ROWS, 4);
	assert_at(p2, 1, PG_BATCH_CALL, 2);
	assert_at(p2, 2, PG_BATCH_ROWS, 3);
	pg_req_free(req);
	part_free(p1);
	part_free(p2);
}

TEST(identical_once_calls_are_sent_once_after_the_others)
{
	struct pg_batch b = {0};
	struct pg_batch_part *p1 = part_new(NULL, NULL), *p2 = part_new(NULL, NULL);
	add_setting(p1, "synchronous_commit", "off");
	pg_req_addl(p1->writes, &plain, "v1");
	add_setting(p2, "synchronous_commit", "off");
	add_setting(p2, "synchronous_commit", "on"); /* different parameters: a call of its own */
	pg_batch_add(&b, p1);
	pg_batch_add(&b, p2);
	ASSERT_INT_EQ(b.calls, 3);
	struct pg_req *req = pg_req_new(NULL, NULL);
	pg_batch_merge(req, &b);
	ASSERT_INT_EQ(req->ncalls, 3);
	ASSERT_TRUE(req->calls[0].stmt == &plain);
	ASSERT_TRUE(req->calls[1].stmt == &setting);
	ASSERT_STR_EQ(param(req, 1, 1), "off");
	ASSERT_TRUE(req->calls[1].once); /* marks are copied: a merged request can be merged again */
	ASSERT_STR_EQ(param(req, 2, 1), "on");
	assert_at(p1, 0, PG_BATCH_CALL, 1);
	assert_at(p1, 1, PG_BATCH_CALL, 0);
	assert_at(p2, 0, PG_BATCH_CALL, 1);
	assert_at(p2, 1, PG_BATCH_CALL, 2);
	pg_req_free(req);
	part_free(p1);
	part_free(p2);
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

TEST(a_binary_row_makes_its_parameter_a_binary_bytea_array)
{
	struct pg_batch b = {0};
	struct pg_batch_part *p1 = part_new(NULL, NULL), *p2 = part_new(NULL, NULL);
	pg_req_addl(p1->writes, &row_b, NULL);
	pg_req_bytes(p1->writes, 0, "\0\1\2", 3);
	pg_req_row(p1->writes);
	pg_req_addl(p2->writes, &row_b, "txt"); /* a text value in a binary column: its bytes */
	pg_req_row(p2->writes);
	pg_req_addl(p2->writes, &row_b, NULL);
	pg_req_row(p2->writes);
	pg_batch_add(&b, p1);
	pg_batch_add(&b, p2);
	struct pg_req *req = pg_req_new(NULL, NULL);
	pg_batch_merge(req, &b);
	ASSERT_INT_EQ(req->ncalls, 1);
	const char *v[PG_MAX_PARAMS];
	int len[PG_MAX_PARAMS], fmt[PG_MAX_PARAMS];
	pg_req_params_fmt(req, 0, v, len, fmt);
	ASSERT_INT_EQ(fmt[0], 1);
	const unsigned char *a = (const unsigned char *)v[0];
	ASSERT_INT_EQ(len[0], 20 + 4 + 3 + 4 + 3 + 4);
	ASSERT_INT_EQ(be32(a), 1);       /* one dimension */
	ASSERT_INT_EQ(be32(a + 4), 1);   /* has a NULL */
	ASSERT_INT_EQ(be32(a + 8), 17);  /* bytea */
	ASSERT_INT_EQ(be32(a + 12), 3);  /* three rows */
	ASSERT_INT_EQ(be32(a + 16), 1);  /* lower bound */
	ASSERT_INT_EQ(be32(a + 20), 3);
	ASSERT_TRUE(memcmp(a + 24, "\0\1\2", 3) == 0);
	ASSERT_INT_EQ(be32(a + 27), 3);
	ASSERT_TRUE(memcmp(a + 31, "txt", 3) == 0);
	ASSERT_INT_EQ(be32(a + 34), UINT32_MAX); /* NULL */
	pg_req_free(req);
	part_free(p1);
	part_free(p2);
}

/* What a part's callback saw. */
struct seen {
	int calls;
	int nresults;
	PGresult *results[8];
	int failed_index;
	bool ok;
	struct pg_req *req;
};

static void record(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	struct seen *s = arg;
	s->calls++;
	s->ok = out->ok;
	s->req = req;
	s->nresults = out->nresults;
	s->failed_index = out->failed_index;
	for (int i = 0; i < out->nresults && i < 8; i++)
		s->results[i] = out->results[i];
}

TEST(each_part_gets_the_results_of_its_own_calls)
{
	struct seen s1 = {0}, s2 = {0};
	struct pg_batch b = {0};
	struct pg_batch_part *p1 = part_new(record, &s1), *p2 = part_new(record, &s2), *quiet = part_new(NULL, NULL);
	pg_req_addl(p1->writes, &plain, "1");
	add_row_a(p1, "x", "y");
	add_setting(p1, "s", "1");
	pg_req_addl(p2->writes, &plain, "2");
	add_setting(p2, "s", "1");
	pg_req_addl(quiet->writes, &plain, "3");
	pg_batch_add(&b, p1);
	pg_batch_add(&b, p2);
	pg_batch_add(&b, quiet);
	struct pg_req *req = pg_req_new(NULL, NULL);
	pg_req_addl(req, &own);
	pg_batch_merge(req, &b);
	/* own, plain 1, plain 2, plain 3, rows of a, the setting */
	ASSERT_INT_EQ(req->ncalls, 6);
	PGresult *res[6];
	for (int i = 0; i < 6; i++)
		res[i] = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	struct pg_outcome out = {.ok = false, .error = "boom", .sqlstate = "23505", .failed_index = 2,
	                         .nresults = 6, .results = res};
	pg_batch_deliver(p1, req, &out);
	pg_batch_deliver(p2, req, &out);
	pg_batch_deliver(quiet, req, &out); /* no callback: nothing to call */
	ASSERT_INT_EQ(s1.calls, 1);
	ASSERT_TRUE(s1.req == req && !s1.ok);
	ASSERT_INT_EQ(s1.nresults, 3);
	ASSERT_TRUE(s1.results[0] == res[1]);
	ASSERT_TRUE(s1.results[1] == NULL); /* a row has no result of its own */
	ASSERT_TRUE(s1.results[2] == res[5]);
	ASSERT_INT_EQ(s1.failed_index, -1); /* the failed call was p2's */
	ASSERT_INT_EQ(s2.calls, 1);
	ASSERT_INT_EQ(s2.nresults, 2);
	ASSERT_TRUE(s2.results[0] == res[2]);
	ASSERT_TRUE(s2.results[1] == res[5]); /* the shared once-call's result */
	ASSERT_INT_EQ(s2.failed_index, 0);
	/* a request that stopped early: the calls that did not run have no result */
	out.nresults = 2;
	pg_batch_deliver(p2, req, &out);
	ASSERT_INT_EQ(s2.calls, 2);
	ASSERT_TRUE(s2.results[0] == NULL);
	ASSERT_TRUE(s2.results[1] == NULL);
	for (int i = 0; i < 6; i++)
		PQclear(res[i]);
	pg_req_free(req);
	part_free(p1);
	part_free(p2);
	part_free(quiet);
}

TEST(cost_counts_only_calls_the_batch_does_not_send_yet)
{
	struct pg_batch b = {0};
	struct pg_batch_part *p1 = part_new(NULL, NULL), *p2 = part_new(NULL, NULL), *p3 = part_new(NULL, NULL);
	add_row_a(p1, "x", "y");
	add_setting(p1, "s", "1");
	pg_req_addl(p1->writes, &plain, "1");
	ASSERT_INT_EQ(pg_batch_cost(&b, p1->writes), 3);
	pg_batch_add(&b, p1);
	ASSERT_INT_EQ(b.calls, 3);
	add_row_a(p2, "x2", "y2");  /* shares the array call */
	add_setting(p2, "s", "1");  /* shares the once-call */
	add_setting(p2, "s", "2");  /* a new once-call */
	pg_req_addl(p2->writes, &plain, "1"); /* plain calls are never shared */
	ASSERT_INT_EQ(pg_batch_cost(&b, p2->writes), 2);
	/* the limit: p2 makes 5 calls; a batch of at most 4 refuses it and is left as it was */
	ASSERT_TRUE(!pg_batch_try_add(&b, p2, 4));
	ASSERT_INT_EQ(b.n, 1);
	ASSERT_INT_EQ(b.calls, 3);
	ASSERT_TRUE(b.tail == p1 && p1->next == NULL);
	ASSERT_TRUE(pg_batch_try_add(&b, p2, 5));
	ASSERT_INT_EQ(b.n, 2);
	ASSERT_INT_EQ(b.calls, 5);
	/* the count is an upper bound of what the merge sends */
	struct pg_req *req = pg_req_new(NULL, NULL);
	pg_batch_merge(req, &b);
	ASSERT_INT_EQ(req->ncalls, 5);
	pg_req_free(req);
	/* two rows of one statement in one new part cost one each (an upper bound) */
	add_row_a(p3, "a", "b");
	add_row_a(p3, "c", "d");
	struct pg_batch empty = {0};
	ASSERT_INT_EQ(pg_batch_cost(&empty, p3->writes), 2);
	ASSERT_INT_EQ(pg_batch_cost(&b, p3->writes), 0);
	part_free(p1);
	part_free(p2);
	part_free(p3);
}

TEST(an_empty_batch_and_an_empty_write_list_add_nothing)
{
	struct pg_batch b = {0};
	struct pg_req *req = pg_req_new(NULL, NULL);
	pg_req_addl(req, &own);
	pg_batch_merge(req, &b);
	ASSERT_INT_EQ(req->ncalls, 1);
	struct pg_batch_part none;
	pg_batch_part_init(&none, NULL); /* no writes: an empty list */
	ASSERT_TRUE(none.writes != NULL);
	ASSERT_INT_EQ(pg_batch_cost(&b, none.writes), 0);
	ASSERT_TRUE(pg_batch_try_add(&b, &none, 0));
	pg_batch_merge(req, &b);
	ASSERT_INT_EQ(req->ncalls, 1);
	PGresult *res[1] = {PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK)};
	struct pg_outcome out = {.ok = true, .sqlstate = "", .failed_index = -1, .nresults = 1, .results = res};
	pg_batch_deliver(&none, req, &out); /* no callback */
	PQclear(res[0]);
	pg_batch_part_clear(&none);
	pg_req_free(req);
}

TEST(a_single_part_is_merged_alone_and_again)
{
	struct seen s = {0};
	struct pg_batch b = {0};
	struct pg_batch_part *p = part_new(record, &s);
	add_setting(p, "s", "1");
	add_row_a(p, "x", "y");
	pg_req_addl(p->writes, &plain, "1");
	pg_batch_add(&b, p);
	struct pg_req *req = pg_req_new(NULL, NULL);
	pg_req_addl(req, &own);
	pg_batch_merge(req, &b);
	ASSERT_INT_EQ(req->ncalls, 4);
	ASSERT_TRUE(req->calls[1].stmt == &plain);
	ASSERT_TRUE(req->calls[2].stmt == &row_a);
	ASSERT_STR_EQ(param(req, 2, 0), "{\"x\"}");
	ASSERT_TRUE(req->calls[3].stmt == &setting);
	assert_at(p, 0, PG_BATCH_CALL, 3);
	assert_at(p, 1, PG_BATCH_ROWS, 2);
	assert_at(p, 2, PG_BATCH_CALL, 1);
	/* sent again alone (a failed group): the placement is that of the new request */
	struct pg_batch alone = {0};
	pg_batch_add(&alone, p);
	struct pg_req *again = pg_req_new(NULL, NULL);
	pg_batch_merge(again, &alone);
	ASSERT_INT_EQ(again->ncalls, 3);
	assert_at(p, 0, PG_BATCH_CALL, 2);
	assert_at(p, 1, PG_BATCH_ROWS, 1);
	assert_at(p, 2, PG_BATCH_CALL, 0);
	PGresult *res[3];
	for (int i = 0; i < 3; i++)
		res[i] = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	struct pg_outcome out = {.ok = true, .sqlstate = "", .failed_index = -1, .nresults = 3, .results = res};
	pg_batch_deliver(p, again, &out);
	ASSERT_INT_EQ(s.calls, 1);
	ASSERT_TRUE(s.ok);
	ASSERT_TRUE(s.results[0] == res[2] && s.results[1] == NULL && s.results[2] == res[0]);
	for (int i = 0; i < 3; i++)
		PQclear(res[i]);
	pg_req_free(req);
	pg_req_free(again);
	part_free(p);
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
