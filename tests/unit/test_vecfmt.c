/* Unit tests: float vector literals (shortest round-trip formatting, strict parsing). */
#include "testlib.h"
#include "lib/embed/vecfmt.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static uint32_t bits_of(float f)
{
	uint32_t b;
	memcpy(&b, &f, sizeof(b));
	return b;
}

static float float_of(uint32_t b)
{
	float f;
	memcpy(&f, &b, sizeof(f));
	return f;
}

static const char *fmt(float f)
{
	static char s[VECFMT_FLOAT_MAX];
	size_t n = vecfmt_float(f, s);
	ASSERT_INT_EQ(n, strlen(s));
	return s;
}

/* Significant digits of a formatted number (trailing zeros of an integer are not significant). */
static int sig_digits(const char *s)
{
	char d[32];
	int n = 0;
	for (; *s && *s != 'e'; s++)
		if (*s >= '0' && *s <= '9' && (n || *s != '0'))
			d[n++] = *s;
	while (n > 1 && d[n - 1] == '0')
		n--;
	return n;
}

/* The fewest significant digits that printf's correctly rounded output needs to read back as f. */
static int printf_min_digits(float f)
{
	char s[64];
	for (int p = 1; p < 9; p++) {
		snprintf(s, sizeof(s), "%.*e", p - 1, (double)f);
		if (bits_of(strtof(s, NULL)) == bits_of(f))
			return p;
	}
	return 9;
}

TEST(float_known_values)
{
	ASSERT_STR_EQ(fmt(0.1f), "0.1");
	ASSERT_STR_EQ(fmt(-0.2f), "-0.2");
	ASSERT_STR_EQ(fmt(1.0f), "1");
	ASSERT_STR_EQ(fmt(0.0f), "0");
	ASSERT_STR_EQ(fmt(-0.0f), "-0");
	ASSERT_STR_EQ(fmt(100.0f), "100");
	ASSERT_STR_EQ(fmt(1e-7f), "1e-7");
	ASSERT_STR_EQ(fmt(-3.5e-7f), "-3.5e-7");
	ASSERT_STR_EQ(fmt(0.001f), "1e-3"); /* shorter than 0.001 */
	ASSERT_STR_EQ(fmt(0.0123f), "0.0123");
	ASSERT_STR_EQ(fmt(1234.5f), "1234.5");
	ASSERT_STR_EQ(fmt(1e10f), "1e10");
	ASSERT_STR_EQ(fmt(FLT_MAX), "3.4028235e38");
	ASSERT_STR_EQ(fmt(FLT_MIN), "1.1754944e-38");
	ASSERT_STR_EQ(fmt(float_of(1)), "1e-45"); /* smallest subnormal */
	ASSERT_STR_EQ(fmt(0.33333334f), "0.33333334");
	ASSERT_STR_EQ(fmt(16777216.0f), "16777216");
}

TEST(float_round_trips_and_is_shortest)
{
	/* A spread of bit patterns across every exponent, both signs, subnormals included. */
	int checked = 0, longer = 0;
	for (uint64_t b = 1; b < 0x7F800000u; b += 7919) {
		for (int neg = 0; neg < 2; neg++) {
			float f = float_of((uint32_t)b | (neg ? 0x80000000u : 0));
			const char *s = fmt(f);
			if (bits_of(strtof(s, NULL)) != bits_of(f)) {
				TEST_FAIL_AT("%.9g formats as \"%s\", which reads back differently", (double)f, s);
				return;
			}
			if (sig_digits(s) > printf_min_digits(f) && longer++ == 0)
				TEST_FAIL_AT("%.9g formats as \"%s\", printf needs only %d digits", (double)f, s,
				             printf_min_digits(f));
			checked++;
		}
	}
	ASSERT_TRUE(checked > 500000);
	ASSERT_INT_EQ(longer, 0);
}

TEST(float_round_trips_typical_embedding_values)
{
	srand(7);
	for (int i = 0; i < 200000; i++) {
		float f = (float)((double)rand() / RAND_MAX - 0.5) * 0.4f;
		const char *s = fmt(f);
		if (bits_of(strtof(s, NULL)) != bits_of(f)) {
			TEST_FAIL_AT("%.9g formats as \"%s\"", (double)f, s);
			return;
		}
		if (strlen(s) > 14) { /* "-0.0052383444", "-1.01514066e-4" */
			TEST_FAIL_AT("%.9g formats as \"%s\": too long", (double)f, s);
			return;
		}
	}
}

TEST(append_both_styles)
{
	float v[] = {0.1f, -0.2f, 3.0f};
	struct buf b = BUF_INIT;
	ASSERT_INT_EQ(vecfmt_append(&b, v, 3, VECFMT_ARRAY), 0);
	ASSERT_STR_EQ(buf_str(&b), "{0.1,-0.2,3}");
	buf_reset(&b);
	ASSERT_INT_EQ(vecfmt_append(&b, v, 3, VECFMT_PGVECTOR), 0);
	ASSERT_STR_EQ(buf_str(&b), "[0.1,-0.2,3]");
	buf_free(&b);
	char *s = vecfmt_format(v, 0, VECFMT_ARRAY);
	ASSERT_STR_EQ(s, "{}");
	free(s);
}

TEST(append_rejects_non_finite)
{
	float v[] = {0.5f, NAN};
	struct buf b = BUF_INIT;
	buf_puts(&b, "x");
	ASSERT_INT_EQ(vecfmt_append(&b, v, 2, VECFMT_PGVECTOR), -1);
	ASSERT_STR_EQ(buf_str(&b), "x");
	v[1] = -INFINITY;
	ASSERT_TRUE(vecfmt_format(v, 2, VECFMT_ARRAY) == NULL);
	buf_free(&b);
}

TEST(long_vector_round_trips_through_parse)
{
	enum { N = 3072 };
	float *v = malloc(N * sizeof(*v));
	srand(11);
	for (int i = 0; i < N; i++)
		v[i] = (float)((double)rand() / RAND_MAX - 0.5) / (float)(1 + i % 7) * (i % 97 == 0 ? 1e-9f : 1.0f);
	for (int style = 0; style < 2; style++) {
		char *s = vecfmt_format(v, N, (enum vecfmt_style)style);
		float *back;
		size_t n;
		char *err;
		ASSERT_INT_EQ(vecfmt_parse(s, strlen(s), &back, &n, &err), 0);
		ASSERT_INT_EQ(n, N);
		ASSERT_TRUE(back && memcmp(back, v, N * sizeof(*v)) == 0);
		free(back);
		free(s);
	}
	free(v);
}

TEST(parse_accepts_whitespace_and_forms)
{
	const char *s = " { 1 , -2.5e-3,+.5 ,7.} ";
	float *v;
	size_t n;
	char *err;
	ASSERT_INT_EQ(vecfmt_parse(s, strlen(s), &v, &n, &err), 0);
	ASSERT_INT_EQ(n, 4);
	ASSERT_TRUE(v[0] == 1.0f && v[1] == -2.5e-3f && v[2] == 0.5f && v[3] == 7.0f);
	free(v);
	ASSERT_INT_EQ(vecfmt_parse("[]", 2, &v, &n, &err), 0);
	ASSERT_INT_EQ(n, 0);
	ASSERT_TRUE(v == NULL);
	ASSERT_INT_EQ(vecfmt_parse("[1e-50]", 7, &v, &n, &err), 0); /* underflow to zero is fine */
	ASSERT_TRUE(n == 1 && v[0] == 0.0f);
	free(v);
}

static void expect_parse_error(const char *s, const char *fragment)
{
	float *v = (float *)1;
	size_t n = 99;
	char *err = NULL;
	if (vecfmt_parse(s, strlen(s), &v, &n, &err) != -1) {
		TEST_FAIL_AT("\"%s\" parsed", s);
		free(v);
		return;
	}
	ASSERT_TRUE(v == NULL && n == 0);
	ASSERT_STR_CONTAINS(err, fragment);
	free(err);
}

TEST(parse_rejects_bad_literals)
{
	expect_parse_error("", "must start");
	expect_parse_error("1,2", "must start");
	expect_parse_error("{1,,2}", "element 2");
	expect_parse_error("{1,2", "element 2: expected ','");
	expect_parse_error("[1}", "expected ','");
	expect_parse_error("{1,}", "element 2");
	expect_parse_error("{NaN}", "element 1: not a finite number: \"NaN\"");
	expect_parse_error("[inf]", "not a finite number");
	expect_parse_error("[-Infinity]", "not a finite number");
	expect_parse_error("[0x1p3]", "element 1");
	expect_parse_error("[1e39]", "element 1");
	expect_parse_error("{NULL}", "element 1");
	expect_parse_error("{{1}}", "element 1");
	expect_parse_error("{1} x", "after the closing");
	expect_parse_error("{1e}", "element 1");
	expect_parse_error("{.}", "element 1");
}

TEST(format_speed)
{
	enum { N = 1536, ROUNDS = 300 };
	float v[N];
	srand(3);
	for (int i = 0; i < N; i++)
		v[i] = (float)((double)rand() / RAND_MAX - 0.5) * 0.2f;
	struct buf b = BUF_INIT;
	struct timespec t0, t1;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	for (int r = 0; r < ROUNDS; r++) {
		buf_reset(&b);
		ASSERT_INT_EQ(vecfmt_append(&b, v, N, VECFMT_PGVECTOR), 0);
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "  vecfmt: %.0f ns per float, %.0f 1536-d vectors/s, %zu bytes per vector\n",
	        s * 1e9 / (N * ROUNDS), ROUNDS / s, b.len);
	buf_free(&b);
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
