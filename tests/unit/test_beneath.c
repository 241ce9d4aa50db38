/* Unit tests: opening beneath a directory descriptor without following links, by openat2 and by the walk. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util/beneath.h"
#include "testlib.h"

static char base[64];
static int rootfd = -1;

/* base/root/{a/b/file.md, link-in -> a, a/link-out -> ../../outside, file-link.md -> a/b/file.md, fifo.md}
 * base/outside/file.md */
static void setup(void)
{
	if (rootfd >= 0)
		return;
	snprintf(base, sizeof base, "/tmp/pgkb-beneath-XXXXXX");
	if (!mkdtemp(base))
		abort();
	char p[256];
	const char *dirs[] = {"root", "root/a", "root/a/b", "outside"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof p, "%s/%s", base, dirs[i]);
		mkdir(p, 0700);
	}
	const char *files[] = {"root/a/b/file.md", "outside/file.md"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof p, "%s/%s", base, files[i]);
		FILE *f = fopen(p, "w");
		fputs(i ? "outside" : "inside", f);
		fclose(f);
	}
	snprintf(p, sizeof p, "%s/root/link-in", base);
	if (symlink("a", p) != 0)
		abort();
	snprintf(p, sizeof p, "%s/root/a/link-out", base);
	if (symlink("../../outside", p) != 0)
		abort();
	snprintf(p, sizeof p, "%s/root/file-link.md", base);
	if (symlink("a/b/file.md", p) != 0)
		abort();
	snprintf(p, sizeof p, "%s/root/fifo.md", base);
	if (mkfifo(p, 0600) != 0)
		abort();
	snprintf(p, sizeof p, "%s/root", base);
	rootfd = open(p, O_RDONLY | O_DIRECTORY);
}

static char *read_all(int fd)
{
	static char buf[64];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void both_ways(void (*check)(const char *way))
{
	setup();
	beneath_use_openat2(true);
	check("openat2");
	beneath_use_openat2(false);
	check("walk");
	beneath_use_openat2(true);
}

static void opens_a_nested_file(const char *way)
{
	char *err = NULL;
	int fd = beneath_open(rootfd, "a/b/file.md", O_RDONLY, &err);
	ASSERT_TRUE(fd >= 0);
	ASSERT_TRUE(err == NULL);
	if (fd >= 0) {
		ASSERT_STR_EQ(read_all(fd), "inside");
		close(fd);
	}
	fd = beneath_open(rootfd, "./a//b/", O_RDONLY | O_DIRECTORY, &err);
	ASSERT_TRUE(fd >= 0);
	if (fd >= 0)
		close(fd);
	fd = beneath_open(rootfd, "", O_RDONLY | O_DIRECTORY, &err);
	ASSERT_TRUE(fd >= 0);
	if (fd >= 0)
		close(fd);
}

TEST(beneath_opens_real_paths)
{
	both_ways(opens_a_nested_file);
}

static void refuses_links(const char *way)
{
	const char *paths[] = {"link-in/b/file.md", "a/link-out/file.md", "file-link.md", "a/link-out"};
	for (size_t i = 0; i < 4; i++) {
		char *err = NULL;
		errno = 0;
		int fd = beneath_open(rootfd, paths[i], O_RDONLY, &err);
		ASSERT_INT_EQ(fd, -1);
		ASSERT_INT_EQ(errno, ELOOP);
		ASSERT_STR_CONTAINS(err, "is a symbolic link");
		free(err);
		if (fd >= 0)
			close(fd);
	}
}

TEST(beneath_refuses_a_link_anywhere_on_the_way)
{
	both_ways(refuses_links);
}

static void refuses_climbing(const char *way)
{
	const char *paths[] = {"../outside/file.md", "a/../../outside/file.md", "/etc/passwd", ".."};
	for (size_t i = 0; i < 4; i++) {
		char *err = NULL;
		int fd = beneath_open(rootfd, paths[i], O_RDONLY, &err);
		ASSERT_INT_EQ(fd, -1);
		ASSERT_INT_EQ(errno, EXDEV);
		ASSERT_TRUE(err != NULL);
		free(err);
	}
}

TEST(beneath_refuses_dotdot_and_absolute_paths)
{
	both_ways(refuses_climbing);
}

static void names_the_missing_component(const char *way)
{
	char *err = NULL;
	int fd = beneath_open(rootfd, "a/nothing/file.md", O_RDONLY, &err);
	ASSERT_INT_EQ(fd, -1);
	ASSERT_INT_EQ(errno, ENOENT);
	ASSERT_STR_CONTAINS(err, "nothing: No such file or directory");
	free(err);
}

TEST(beneath_names_the_component_at_fault)
{
	both_ways(names_the_missing_component);
}

static void fifo_does_not_block(const char *way)
{
	char *err = NULL;
	alarm(5); /* a blocking open of a FIFO with no writer would hang here */
	int fd = beneath_open(rootfd, "fifo.md", O_RDONLY, &err);
	alarm(0);
	ASSERT_TRUE(fd >= 0);
	struct stat st;
	ASSERT_TRUE(fd >= 0 && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode));
	if (fd >= 0)
		close(fd);
}

TEST(beneath_opens_a_fifo_without_blocking)
{
	both_ways(fifo_does_not_block);
}

int main(int argc, char **argv)
{
	int rc = test_main(argc, argv);
	if (base[0]) {
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
		if (system(cmd) != 0)
			rc = 1;
	}
	return rc;
}
