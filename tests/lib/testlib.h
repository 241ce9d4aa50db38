/* Minimal unit-test runner: TEST(name) functions, typed assertions that print both values. */
#ifndef PGKB_TESTLIB_H
#define PGKB_TESTLIB_H

#include <stdio.h>
#include <string.h>

extern int test_failures;
extern int test_checks;

typedef void (*test_fn)(void);
void test_register(const char *name, test_fn fn);
/* Runs every registered test (or those named in argv); prints "N passed, M failed"; returns the exit code. */
int test_main(int argc, char **argv);

/* A fixture or document file, whole (lib/util/file.h, bounded at 64 MiB): a heap buffer, NUL-terminated, or NULL
 * when it cannot be read (*len 0). */
char *test_read_file(const char *path, size_t *len);

#define TEST(name) \
	static void name(void); \
	__attribute__((constructor)) static void register_##name(void) { test_register(#name, name); } \
	static void name(void)

#define TEST_FAIL_AT(...) \
	do { \
		test_failures++; \
		fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
	} while (0)

#define ASSERT_TRUE(c) \
	do { \
		test_checks++; \
		if (!(c)) \
			TEST_FAIL_AT("expected true: %s", #c); \
	} while (0)
#define ASSERT_INT_EQ(a, b) \
	do { \
		long long _a = (long long)(a), _b = (long long)(b); \
		test_checks++; \
		if (_a != _b) \
			TEST_FAIL_AT("%s == %s: %lld != %lld", #a, #b, _a, _b); \
	} while (0)
#define ASSERT_STR_EQ(a, b) \
	do { \
		const char *_a = (a), *_b = (b); \
		test_checks++; \
		if (!_a || !_b || strcmp(_a, _b) != 0) \
			TEST_FAIL_AT("%s == %s:\n    got:      \"%s\"\n    expected: \"%s\"", #a, #b, \
			             _a ? _a : "(null)", _b ? _b : "(null)"); \
	} while (0)
#define ASSERT_STR_CONTAINS(hay, needle) \
	do { \
		const char *_h = (hay), *_n = (needle); \
		test_checks++; \
		if (!_h || !strstr(_h, _n)) \
			TEST_FAIL_AT("%s contains \"%s\": got \"%s\"", #hay, _n, _h ? _h : "(null)"); \
	} while (0)

#endif
