/* Unit tests: the ingest worker's file access (workers/ingest/ingest_files.c): the roots fence, FIFOs, and the
 * bounds of a directory walk, each named in the outcome. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workers/ingest/ingest_files.h"
#include "testlib.h"

static char base[64], root[96];

static void put(const char *rel, const char *text)
{
	char p[512];
	if (snprintf(p, sizeof p, "%s/%s", root, rel) >= (int)sizeof p)
		abort();
	FILE *f = fopen(p, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

static void mk(const char *rel)
{
	char p[512];
	if (snprintf(p, sizeof p, "%s/%s", root, rel) >= (int)sizeof p)
		abort();
	mkdir(p, 0700);
}

static void setup(void)
{
	if (base[0])
		return;
	snprintf(base, sizeof base, "/tmp/pgkb-ingest-files-XXXXXX");
	if (!mkdtemp(base))
		abort();
	snprintf(root, sizeof root, "%s/root", base);
	mkdir(root, 0700);
	char p[512];
	snprintf(p, sizeof p, "%s/outside", base);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/outside/secret.md", base);
	FILE *f = fopen(p, "w");
	fputs("outside text", f);
	fclose(f);
	mk("docs");
	put("docs/a.md", "# A");
	put("docs/b.txt", "b");
	put("docs/skip.bin", "not listed");
	snprintf(p, sizeof p, "%s/docs/fifo.md", root);
	if (mkfifo(p, 0600) != 0)
		abort();
	snprintf(p, sizeof p, "%s/docs/in-link.md", root);
	if (symlink("a.md", p) != 0)
		abort();
	snprintf(p, sizeof p, "%s/docs/out-link.md", root);
	if (symlink("../../outside/secret.md", p) != 0)
		abort();
}

static struct ingest_target *prepare(const char *rel)
{
	setup();
	char p[512];
	snprintf(p, sizeof p, "%s%s%s", root, *rel ? "/" : "", rel);
	char *roots[] = {root, NULL};
	struct ingest_target *t = ingest_target_new(p, roots, 1000);
	ingest_target_prepare(t);
	return t;
}

TEST(a_fifo_is_refused_at_once_with_its_type)
{
	alarm(5); /* before the fix this open blocked for good */
	struct ingest_target *t = prepare("docs/fifo.md");
	alarm(0);
	ASSERT_INT_EQ(t->kind, INGEST_TARGET_ERROR);
	ASSERT_STR_CONTAINS(t->err, "not a regular file (fifo)");
	ingest_target_free(t);
}

TEST(a_file_is_read_and_a_link_inside_the_roots_followed)
{
	struct ingest_target *t = prepare("docs/in-link.md");
	ASSERT_INT_EQ(t->kind, INGEST_TARGET_FILE);
	ASSERT_STR_EQ(t->data, "# A");
	ASSERT_TRUE(t->resolved && strstr(t->resolved, "/docs/a.md"));
	ingest_target_free(t);
	t = prepare("docs/out-link.md");
	ASSERT_INT_EQ(t->kind, INGEST_TARGET_ERROR);
	ASSERT_STR_CONTAINS(t->err, "outside the ingest roots");
	ingest_target_free(t);
}

TEST(a_file_over_the_size_limit_is_a_read_error)
{
	char big[1200];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	setup();
	put("big.txt", big);
	struct ingest_target *t = prepare("big.txt");
	ASSERT_INT_EQ(t->kind, INGEST_TARGET_READ_ERROR);
	ASSERT_STR_CONTAINS(t->err, "larger than ingest.max_document_bytes");
	ingest_target_free(t);
}

TEST(a_walk_lists_regular_files_and_names_what_it_left)
{
	struct ingest_target *t = prepare("docs");
	ASSERT_INT_EQ(t->kind, INGEST_TARGET_DIR);
	ASSERT_INT_EQ(t->npaths, 3); /* a.md, b.txt, and in-link.md as a.md's path */
	ASSERT_STR_CONTAINS(t->skipped, "1 not a regular file (fifo, socket or device)");
	ASSERT_STR_CONTAINS(t->skipped, "1 symbolic link to no regular file inside the ingest roots");
	ASSERT_STR_CONTAINS(t->skipped, "out-link.md");
	ingest_target_free(t);
}

TEST(a_walk_names_its_depth_bound)
{
	setup();
	char rel[4096] = "deep";
	mk(rel);
	for (int i = 0; i < INGEST_WALK_MAX_DEPTH + 5; i++) {
		strcat(rel, "/d");
		mk(rel);
		if (i == 2) {
			char f[4200];
			snprintf(f, sizeof f, "%s/shallow.md", rel);
			put(f, "shallow");
		}
	}
	strcat(rel, "/bottom.md");
	put(rel, "bottom");
	struct ingest_target *t = prepare("deep");
	ASSERT_INT_EQ(t->kind, INGEST_TARGET_DIR);
	ASSERT_INT_EQ(t->npaths, 1);
	ASSERT_STR_CONTAINS(t->skipped, "1 directory deeper than 64 levels not walked (the walk's depth bound)");
	ingest_target_free(t);
}

TEST(a_walk_names_its_file_count_bound)
{
	setup();
	mk("many");
	for (int i = 0; i < 30; i++) {
		char f[64];
		snprintf(f, sizeof f, "many/f%02d.md", i);
		put(f, "x");
	}
	char p[512];
	snprintf(p, sizeof p, "%s/many", root);
	char *roots[] = {root, NULL};
	struct ingest_target *t = ingest_target_new(p, roots, 1000);
	t->max_files = 10;
	ingest_target_prepare(t);
	ASSERT_INT_EQ(t->npaths, 10);
	ASSERT_STR_CONTAINS(t->skipped, "the walk stopped at 10 files");
	ingest_target_free(t);
}

TEST(a_stopping_worker_ends_a_walk_early)
{
	setup();
	char p[512];
	snprintf(p, sizeof p, "%s/docs", root);
	char *roots[] = {root, NULL};
	struct ingest_target *t = ingest_target_new(p, roots, 1000);
	int stop = 1;
	t->stop = &stop;
	ingest_target_prepare(t);
	ASSERT_INT_EQ(t->kind, INGEST_TARGET_ERROR);
	ASSERT_STR_CONTAINS(t->err, "the worker is stopping");
	ingest_target_free(t);
}

TEST(the_fence_keeps_its_readable_reasons)
{
	setup();
	char *roots[] = {root, NULL}, *none[] = {NULL};
	struct ingest_target *t = ingest_target_new("/etc/passwd", roots, 1000);
	ingest_target_prepare(t);
	ASSERT_STR_CONTAINS(t->err, "/etc/passwd is outside the ingest roots");
	ingest_target_free(t);
	t = ingest_target_new("relative.md", roots, 1000);
	ingest_target_prepare(t);
	ASSERT_STR_CONTAINS(t->err, "must be absolute");
	ingest_target_free(t);
	t = ingest_target_new("/etc/passwd", none, 1000);
	ingest_target_prepare(t);
	ASSERT_STR_CONTAINS(t->err, "no ingest roots are configured");
	ingest_target_free(t);
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
