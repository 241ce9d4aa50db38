/* Minimal unit-test runner. */
#include "testlib.h"

#include <stdlib.h>

#include "lib/util/file.h"

int test_failures;
int test_checks;

#define MAX_TESTS 512
static struct {
	const char *name;
	test_fn fn;
} tests[MAX_TESTS];
static int ntests;

void test_register(const char *name, test_fn fn)
{
	if (ntests == MAX_TESTS)
		abort();
	tests[ntests].name = name;
	tests[ntests].fn = fn;
	ntests++;
}

static int selected(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

int test_main(int argc, char **argv)
{
	int passed = 0, failed = 0;
	for (int i = 0; i < ntests; i++) {
		if (!selected(tests[i].name, argc, argv))
			continue;
		int before = test_failures;
		tests[i].fn();
		if (test_failures == before) {
			passed++;
			printf("ok   %s\n", tests[i].name);
		} else {
			failed++;
			printf("FAIL %s\n", tests[i].name);
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

char *test_read_file(const char *path, size_t *len)
{
	char *data;
	struct file_error e;
	*len = 0;
	return file_read(path, (int64_t)64 << 20, 0, &data, len, &e) == 0 ? data : NULL;
}
