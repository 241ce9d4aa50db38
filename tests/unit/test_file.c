/* Unit tests: bounded whole-file reads (lib/util/file.c) and their errors. */
#include "lib/util/file.h"
#include "testlib.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util/mem.h"

static char dir[] = "/tmp/pgkb_test_file_XXXXXX";

static char *make(const char *name, const char *content)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (f) {
		fputs(content, f);
		fclose(f);
	}
	return path;
}

TEST(reads_whole_file_nul_terminated)
{
	char *path = make("a.txt", "hello\nworld");
	char *data = NULL;
	size_t len = 0;
	struct file_error e;
	ASSERT_INT_EQ(file_read(path, 11, FILE_REGULAR, &data, &len, &e), 0);
	ASSERT_INT_EQ(len, 11);
	ASSERT_STR_EQ(data, "hello\nworld");
	free(data);
	char *empty = make("empty", "");
	ASSERT_INT_EQ(file_read(empty, 0, 0, &data, &len, &e), 0);
	ASSERT_INT_EQ(len, 0);
	ASSERT_STR_EQ(data, "");
	free(data);
	free(empty);
	free(path);
}

TEST(bounded)
{
	char *path = make("big.txt", "0123456789");
	char *data = NULL;
	size_t len = 0;
	struct file_error e;
	ASSERT_INT_EQ(file_read(path, 9, 0, &data, &len, &e), -1);
	ASSERT_INT_EQ(e.fault, FILE_TOO_LARGE);
	ASSERT_INT_EQ(e.size, 10);
	ASSERT_TRUE(data == NULL);
	char *msg = file_error_message(path, 9, &e);
	ASSERT_STR_CONTAINS(msg, "big.txt: larger than 9 bytes");
	free(msg);
	free(path);
}

TEST(errors_say_why)
{
	char *data = NULL;
	size_t len = 0;
	struct file_error e;
	char *missing = xasprintf("%s/missing", dir);
	ASSERT_INT_EQ(file_read(missing, 100, 0, &data, &len, &e), -1);
	ASSERT_INT_EQ(e.fault, FILE_OPEN);
	ASSERT_INT_EQ(e.errnum, ENOENT);
	char *msg = file_error_message(missing, 100, &e);
	ASSERT_STR_CONTAINS(msg, "missing: cannot open: No such file or directory");
	free(msg);
	free(missing);

	ASSERT_INT_EQ(file_read(dir, 100, 0, &data, &len, &e), -1);
	ASSERT_INT_EQ(e.fault, FILE_DIRECTORY);

	/* A device is refused only with FILE_REGULAR (a configuration may come through a pipe). */
	ASSERT_INT_EQ(file_read("/dev/null", 100, FILE_REGULAR, &data, &len, &e), -1);
	ASSERT_INT_EQ(e.fault, FILE_NOT_REGULAR);
	ASSERT_INT_EQ(file_read("/dev/null", 100, 0, &data, &len, &e), 0);
	ASSERT_INT_EQ(len, 0);
	free(data);
}

TEST(nofollow_refuses_a_link)
{
	char *target = make("target", "x");
	char *link = xasprintf("%s/link", dir);
	ASSERT_INT_EQ(symlink(target, link), 0);
	char *data = NULL;
	size_t len = 0;
	struct file_error e;
	ASSERT_INT_EQ(file_read(link, 100, FILE_NOFOLLOW, &data, &len, &e), -1);
	ASSERT_INT_EQ(e.fault, FILE_OPEN);
	ASSERT_INT_EQ(e.errnum, ELOOP);
	ASSERT_INT_EQ(file_read(link, 100, 0, &data, &len, &e), 0);
	ASSERT_STR_EQ(data, "x");
	free(data);
	free(link);
	free(target);
}

int main(int argc, char **argv)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	int rc = test_main(argc, argv);
	char *cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	free(cmd);
	return rc;
}
