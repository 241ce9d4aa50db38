/* Unit tests: the builtin feature-hashing embedder (contract, tokenisation, retrieval quality, speed). */
#include "lib/embed/embed_builtin.h"
#include "testlib.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "lib/util/buf.h"

#define DOCS "/usr/share/doc/postgresql-doc-15/html"
#define MAXDIM 3072

static float *emb(const char *text, int dim)
{
	float *v = malloc(sizeof(float) * MAXDIM);
	if (embed_builtin(text, strlen(text), dim, v) != 0)
		TEST_FAIL_AT("embed_builtin failed for dim %d", dim);
	return v;
}

static double dot(const float *a, const float *b, int dim)
{
	double s = 0;
	for (int i = 0; i < dim; i++)
		s += (double)a[i] * b[i];
	return s;
}

static double cos_text(const char *a, const char *b, int dim)
{
	float *x = emb(a, dim), *y = emb(b, dim);
	double c = dot(x, y, dim);
	free(x);
	free(y);
	return c;
}

static int same_vector(const char *a, const char *b)
{
	float *x = emb(a, 384), *y = emb(b, 384);
	int same = memcmp(x, y, sizeof(float) * 384) == 0;
	free(x);
	free(y);
	return same;
}

#define ASSERT_SAME(a, b) \
	do { \
		test_checks++; \
		if (!same_vector(a, b)) \
			TEST_FAIL_AT("\"%s\" and \"%s\" should embed identically", a, b); \
	} while (0)

TEST(dimensions_and_norm)
{
	static const int ok[] = {384, 768, 1024, 1536, 3072};
	static const int bad[] = {0, -1, 100, 512, 4096};
	float *v = malloc(sizeof(float) * MAXDIM);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ASSERT_INT_EQ(embed_builtin("hello world", 11, ok[i], v), 0);
		ASSERT_TRUE(fabs(dot(v, v, ok[i]) - 1.0) < 1e-5);
	}
	v[0] = 42.0f;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_INT_EQ(embed_builtin("hello", 5, bad[i], v), -1);
	ASSERT_TRUE(v[0] == 42.0f); /* untouched */
	free(v);
}

/* FNV-1a over the float bits: pins the exact output, so a change of algorithm (or a platform that computes
 * differently) is noticed; bump EMBED_BUILTIN_MODEL together with these constants. */
static uint64_t vector_digest(const char *text, int dim)
{
	float *v = emb(text, dim);
	uint64_t h = 0xcbf29ce484222325ULL;
	for (int i = 0; i < dim; i++) {
		uint32_t b;
		memcpy(&b, &v[i], sizeof(b));
		for (int k = 0; k < 4; k++) {
			h ^= (b >> (8 * k)) & 0xFF;
			h *= 0x100000001b3ULL;
		}
	}
	free(v);
	return h;
}

TEST(deterministic_golden_output)
{
	const char *t = "CREATE INDEX CONCURRENTLY builds the index without locking out writes; pg_stat_progress_"
	                "create_index reports progress. Größe, индекс, 索引.";
	ASSERT_TRUE(same_vector(t, t));
	uint64_t d384 = vector_digest(t, 384), d1536 = vector_digest(t, 1536);
	if (d384 != 0x7be55ee3802b346dULL || d1536 != 0x4ba90bb3c25f2819ULL)
		TEST_FAIL_AT("golden digests changed: 384 -> 0x%016llxULL, 1536 -> 0x%016llxULL",
		             (unsigned long long)d384, (unsigned long long)d1536);
}

TEST(empty_text_is_a_fixed_unit_vector)
{
	float *a = emb("", 768), *b = emb(" ,.; \n\t--- ", 768), *c = emb("vacuum full analyze", 768);
	ASSERT_TRUE(memcmp(a, b, sizeof(float) * 768) == 0);
	int nonzero = 0;
	for (int i = 0; i < 768; i++)
		if (a[i] != 0.0f) {
			nonzero++;
			ASSERT_TRUE(a[i] == 1.0f || a[i] == -1.0f);
		}
	ASSERT_INT_EQ(nonzero, 1);
	ASSERT_TRUE(fabs(dot(a, c, 768)) < 0.3);
	free(a);
	free(b);
	free(c);
	/* only stop words: embedded from them rather than collapsing to the empty vector */
	ASSERT_TRUE(!same_vector("the of and", ""));
	ASSERT_TRUE(cos_text("the of and", "of the and", 384) > 0.6);
}

TEST(case_and_separators_do_not_matter)
{
	ASSERT_SAME("CREATE INDEX Concurrently", "create index concurrently");
	ASSERT_SAME("create index", "create\n\t  index");
	ASSERT_SAME("index\xE2\x80\x94" "concurrently", "index concurrently");    /* em dash */
	ASSERT_SAME("\xE2\x80\x9Cquoted\xE2\x80\x9D words", "quoted words");     /* curly quotes */
	ASSERT_SAME("shared\xC2\xA0" "buffers", "shared buffers");               /* no-break space */
	ASSERT_SAME("\xC3\x89" "COLE Gr\xC3\x96\xC3\x9F" "E", "\xC3\xA9" "cole gr\xC3\xB6\xC3\x9F" "e");
	ASSERT_SAME("\xD0\x98\xD0\x9D\xD0\x94\xD0\x95\xD0\x9A\xD0\xA1", "\xD0\xB8\xD0\xBD\xD0\xB4\xD0\xB5\xD0\xBA\xD1\x81");
	ASSERT_TRUE(!same_vector("na\xC3\xAFve", "na ve")); /* a UTF-8 letter does not split a word */
	ASSERT_TRUE(!same_vector("create index", "index create")); /* bigrams keep word order */
}

TEST(suffixes_meet_their_stem)
{
	ASSERT_SAME("indexes", "index");
	ASSERT_SAME("indexing", "index");
	ASSERT_SAME("indexed", "index");
	ASSERT_SAME("created tables", "create table");
	ASSERT_SAME("creating table", "creates tables");
	ASSERT_SAME("queries", "query");
	ASSERT_SAME("locking", "locks");
	ASSERT_SAME("running", "run");
	ASSERT_SAME("statuses", "status");
	ASSERT_TRUE(!same_vector("class", "clas"));
	ASSERT_TRUE(!same_vector("string", "str"));
}

TEST(identifiers_count_whole_and_as_parts)
{
	double parts = cos_text("pg_stat_activity", "stat activity", 768);
	double spaced = cos_text("pg_stat_activity", "pg stat activity", 768);
	double other = cos_text("pg_stat_activity", "pg_class catalog", 768);
	fprintf(stderr, "  identifier: parts %.3f, spaced %.3f, other %.3f\n", parts, spaced, other);
	ASSERT_TRUE(parts > 0.5);
	ASSERT_TRUE(spaced > parts && spaced < 0.99);
	ASSERT_TRUE(other < 0.3);
	ASSERT_TRUE(cos_text("create_index", "create index", 768) > 0.6);
}

TEST(cjk_and_invalid_bytes)
{
	/* 数据库索引 (database index) vs 索引 (index) vs 天气很好 (nice weather) */
	double rel = cos_text("\xE6\x95\xB0\xE6\x8D\xAE\xE5\xBA\x93\xE7\xB4\xA2\xE5\xBC\x95", "\xE7\xB4\xA2\xE5\xBC\x95", 384);
	double unrel = cos_text("\xE6\x95\xB0\xE6\x8D\xAE\xE5\xBA\x93\xE7\xB4\xA2\xE5\xBC\x95",
	                        "\xE5\xA4\xA9\xE6\xB0\x94\xE5\xBE\x88\xE5\xA5\xBD", 384);
	ASSERT_TRUE(rel > 0.3 && rel > unrel + 0.2);
	float *v = malloc(sizeof(float) * 384);
	ASSERT_INT_EQ(embed_builtin("ab\xFF\xFE" "cd\0ef \xE2\x82", 13, 384, v), 0);
	ASSERT_TRUE(fabs(dot(v, v, 384) - 1.0) < 1e-5);
	free(v);
}

TEST(huge_input_stays_normalised)
{
	size_t n = 4 << 20;
	char *t = malloc(n);
	for (size_t i = 0; i < n; i++)
		t[i] = (i % 7 == 6) ? ' ' : (char)('a' + (i * 31 + i / 7) % 26);
	memcpy(t, "index ", 6);
	float *v = malloc(sizeof(float) * 1024);
	ASSERT_INT_EQ(embed_builtin(t, n, 1024, v), 0);
	ASSERT_TRUE(fabs(dot(v, v, 1024) - 1.0) < 1e-5);
	memset(t, 'x', n); /* one giant token */
	ASSERT_INT_EQ(embed_builtin(t, n, 1024, v), 0);
	ASSERT_TRUE(fabs(dot(v, v, 1024) - 1.0) < 1e-5);
	free(v);
	free(t);
}

/* ---- retrieval quality ---- */

struct triple {
	const char *query, *related, *unrelated;
};

static const struct triple triples[] = {
	{"create an index concurrently without locking writes",
	 "Building an index with the CONCURRENTLY option lets the table keep accepting inserts, updates and deletes "
	 "while the index is created; the build takes longer and scans the table twice, but normal writes are not "
	 "blocked by a lock.",
	 "A join combines rows from two tables. An inner join returns only the rows with matching keys, while a left "
	 "outer join also keeps the rows of the left table that have no match, filling the missing columns with "
	 "nulls."},
	{"how do I restore a database from a backup dump",
	 "To restore an archive made by pg_dump in custom format, use pg_restore and give it the target database; a "
	 "plain SQL dump is restored by feeding the file to psql.",
	 "The autovacuum daemon removes dead row versions and updates planner statistics; its thresholds can be "
	 "tuned per table with storage parameters."},
	{"rate limit errors when calling the embeddings API",
	 "When the provider answers 429 Too Many Requests, the client must slow down: wait for the time given in "
	 "the Retry-After header, then retry the request with exponential backoff. Rate limits apply per API key.",
	 "Full-text search turns documents into tsvector values and queries into tsquery values; the @@ operator "
	 "tells whether a document matches."},
	{"pg_stat_activity shows running queries",
	 "The pg_stat_activity view has one row per server process, showing the current query of each session, its "
	 "state and when the query started running.",
	 "Table partitioning splits one large table into smaller physical pieces, for example by date range, which "
	 "can make queries and bulk deletes faster."},
	{"configure TLS certificates for encrypted connections",
	 "To enable SSL, set ssl = on and point ssl_cert_file and ssl_key_file at the server certificate and private "
	 "key; clients can then require an encrypted connection with sslmode=require.",
	 "Sequences generate unique integer identifiers; nextval advances a sequence and returns the new value, and "
	 "serial columns use one implicitly to configure defaults."},
	{"indexing JSON documents with GIN",
	 "A GIN index on a jsonb column speeds up containment queries such as data @> '{\"tag\": \"x\"}'; the "
	 "jsonb_path_ops operator class makes the index smaller.",
	 "The COPY command moves data between tables and files quickly; with FORMAT csv it reads comma-separated "
	 "values and can skip a header line of the documents."},
};

TEST(related_text_scores_clearly_higher)
{
	for (size_t i = 0; i < sizeof(triples) / sizeof(triples[0]); i++) {
		const struct triple *t = &triples[i];
		double rel = cos_text(t->query, t->related, 1536), unrel = cos_text(t->query, t->unrelated, 1536);
		fprintf(stderr, "  triple %zu: related %.3f unrelated %.3f margin %.3f\n", i, rel, unrel, rel - unrel);
		if (!(rel > unrel + 0.08))
			TEST_FAIL_AT("\"%s\": related %.3f is not clearly above unrelated %.3f", t->query, rel, unrel);
	}
}

/* Paragraphs (<p>...</p>, tags stripped, common entities decoded) of one documentation page. */
static size_t doc_paragraphs(const char *file, char ***out)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", DOCS, file);
	size_t n = 0, len;
	*out = NULL;
	char *html = test_read_file(path, &len);
	if (!html)
		return 0;
	const char *p = html;
	while ((p = strstr(p, "<p")) != NULL) {
		const char *end = strstr(p, "</p>");
		if (!end)
			break;
		struct buf t = BUF_INIT;
		int in_tag = 0;
		for (const char *q = p; q < end; q++) {
			if (*q == '<')
				in_tag = 1;
			else if (*q == '>')
				in_tag = 0;
			else if (in_tag)
				continue;
			else if (strncmp(q, "&lt;", 4) == 0)
				buf_putc(&t, '<'), q += 3;
			else if (strncmp(q, "&gt;", 4) == 0)
				buf_putc(&t, '>'), q += 3;
			else if (strncmp(q, "&amp;", 5) == 0)
				buf_putc(&t, '&'), q += 4;
			else
				buf_putc(&t, *q == '\n' ? ' ' : *q);
		}
		if (t.len >= 120) {
			*out = realloc(*out, sizeof(char *) * (n + 1));
			(*out)[n++] = buf_steal(&t);
		}
		buf_free(&t);
		p = end;
	}
	free(html);
	return n;
}

struct para {
	char *text;
	int page;
	float *v;
};

static const char *const pages[] = {
	"sql-createindex.html", "queries-table-expressions.html", "routine-vacuuming.html", "sql-notify.html",
	"wal-configuration.html", "sql-grant.html", "transaction-iso.html", "sql-copy.html", "ssl-tcp.html",
	"app-pgrestore.html", "sql-select.html", "datatype-numeric.html", "functions-string.html",
	"ddl-partitioning.html", "textsearch-intro.html", "datatype-json.html",
};

static const struct {
	const char *query;
	int page;
} queries[] = {
	{"create an index concurrently without locking writes", 0},
	{"left outer join between two tables", 1},
	{"vacuum reclaims storage occupied by dead tuples and prevents transaction id wraparound", 2},
	{"send a notification with a payload to listening sessions", 3},
	{"checkpoint frequency and max_wal_size", 4},
	{"grant select privilege on a table to a role", 5},
	{"serializable isolation level and serialization failures", 6},
	{"load rows from a csv file into a table", 7},
	{"server certificate and private key for ssl connections", 8},
	{"restore a custom-format archive with parallel jobs", 9},
	{"numeric precision and scale of decimal numbers", 11},
	{"range partitioning of a table by date", 13},
	{"full text search with tsvector and tsquery", 14},
	{"jsonb containment operator", 15},
};

TEST(retrieval_on_postgres_docs)
{
	struct para *ps = NULL;
	size_t np = 0;
	for (size_t pg = 0; pg < sizeof(pages) / sizeof(pages[0]); pg++) {
		char **texts;
		size_t n = doc_paragraphs(pages[pg], &texts);
		for (size_t i = 0; i < n; i++) {
			ps = realloc(ps, sizeof(*ps) * (np + 1));
			ps[np].text = texts[i];
			ps[np].page = (int)pg;
			ps[np].v = emb(texts[i], 768);
			np++;
		}
		free(texts);
	}
	if (np < 200) {
		fprintf(stderr, "  SKIP: PostgreSQL 15 HTML docs not found under %s (package postgresql-doc-15)\n", DOCS);
		goto out;
	}
	size_t nq = sizeof(queries) / sizeof(queries[0]), top1 = 0, top3 = 0;
	double mrr = 0;
	for (size_t q = 0; q < nq; q++) {
		float *qv = emb(queries[q].query, 768);
		/* rank of the best paragraph from the expected page */
		size_t best = 0, rank = 1;
		double best_rel = -2;
		for (size_t i = 0; i < np; i++)
			if (ps[i].page == queries[q].page && dot(qv, ps[i].v, 768) > best_rel)
				best_rel = dot(qv, ps[i].v, 768), best = i;
		for (size_t i = 0; i < np; i++)
			if (ps[i].page != queries[q].page && dot(qv, ps[i].v, 768) > best_rel)
				rank++;
		fprintf(stderr, "  query %-70.70s rank %zu (%.3f)\n", queries[q].query, rank, best_rel);
		if (q == 0) { /* the CONCURRENTLY paragraph against the best paragraph about joins */
			double join = -2;
			for (size_t i = 0; i < np; i++)
				if (ps[i].page == 1 && dot(qv, ps[i].v, 768) > join)
					join = dot(qv, ps[i].v, 768);
			fprintf(stderr, "  best CREATE INDEX paragraph %.3f (\"%.60s...\"), best join paragraph %.3f\n",
			        best_rel, ps[best].text, join);
			ASSERT_TRUE(strstr(ps[best].text, "concurrent") != NULL);
			ASSERT_TRUE(best_rel > join + 0.1);
		}
		top1 += rank == 1;
		top3 += rank <= 3;
		mrr += 1.0 / (double)rank;
		free(qv);
	}
	fprintf(stderr, "  docs retrieval: %zu paragraphs, %zu queries, top-1 %zu, top-3 %zu, MRR %.3f\n", np, nq, top1,
	        top3, mrr / (double)nq);
	ASSERT_TRUE(top1 * 10 >= nq * 8); /* at least 80% right at rank 1 */
	ASSERT_INT_EQ(top3, nq);
out:
	for (size_t i = 0; i < np; i++) {
		free(ps[i].text);
		free(ps[i].v);
	}
	free(ps);
}

TEST(speed)
{
	/* 1,200-character chunks of real-looking documentation prose */
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < sizeof(triples) / sizeof(triples[0]); i++)
		buf_printf(&b, "%s %s %s ", triples[i].related, triples[i].unrelated, triples[i].query);
	while (b.len < 1200 + 64 * 7) {
		char *copy = strdup(buf_str(&b));
		buf_puts(&b, copy);
		free(copy);
	}
	enum { CHUNKS = 64, ROUNDS = 20 };
	float *v = malloc(sizeof(float) * 1536);
	struct timespec t0, t1;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	for (int r = 0; r < ROUNDS; r++)
		for (int c = 0; c < CHUNKS; c++)
			embed_builtin(b.data + c * 7, 1200, 1536, v);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "  builtin: %.0f chunks/s of 1200 chars at 1536 dimensions (one core)\n", CHUNKS * ROUNDS / s);
	ASSERT_TRUE(fabs(dot(v, v, 1536) - 1.0) < 1e-5);
	free(v);
	buf_free(&b);
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
