/* Unit tests: chunking (sizes, split points, fences, overlap, heading paths, stability) and its speed. */
#include "testlib.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/util/buf.h"
#include "lib/text/chunk.h"
#include "lib/text/codeblock.h"
#include "lib/util/hash.h"
#include "lib/text/html.h"
#include "lib/util/mem.h"
#include "lib/text/textstats.h"
#include "lib/text/utf8.h"

#ifndef PG_DOC_DIR
#define PG_DOC_DIR "/usr/share/doc/postgresql-doc-15/html"
#endif

/* ---- helpers ------------------------------------------------------------------------------- */

/* True when every fence opened in s is closed again within s. */
static bool balanced(const char *s)
{
	struct codeblock_fence f;
	bool open = false;
	size_t n = strlen(s);
	for (size_t pos = 0; pos < n;) {
		const char *nl = memchr(s + pos, '\n', n - pos);
		size_t e = nl ? (size_t)(nl - s) : n;
		if (open)
			open = !codeblock_fence_close(s + pos, e - pos, &f);
		else
			open = codeblock_fence_open(s + pos, e - pos, &f);
		pos = e + 1;
	}
	return !open;
}

/* Checks what must hold for every chunk list; slack: code points a chunk may exceed the size by. */
static void check_chunks(const struct chunk_list *l, int size, int slack)
{
	size_t prev_offset = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct chunk *c = &l->items[i];
		size_t len = strlen(c->content);
		char hex[HASH_HEX_LEN + 1];
		hash_sha256_hex(c->content, len, hex);
		if (strcmp(hex, c->hash))
			TEST_FAIL_AT("chunk %zu: hash mismatch", i);
		if (!len || !utf8_is_clean(c->content, len))
			TEST_FAIL_AT("chunk %zu: empty or not clean UTF-8", i);
		if ((size_t)c->chars != textstats_chars(c->content, len) ||
		    (size_t)c->words != textstats_words(c->content, len))
			TEST_FAIL_AT("chunk %zu: counts %d/%d wrong", i, c->chars, c->words);
		if (c->chars > size + slack)
			TEST_FAIL_AT("chunk %zu: %d code points > %d + %d:\n%s", i, c->chars, size, slack,
			             c->content);
		if (!balanced(c->content))
			TEST_FAIL_AT("chunk %zu: unbalanced fence:\n%s", i, c->content);
		if (i && c->offset <= prev_offset)
			TEST_FAIL_AT("chunk %zu: offset %zu not after %zu", i, c->offset, prev_offset);
		if (c->end <= c->offset)
			TEST_FAIL_AT("chunk %zu: empty source range", i);
		prev_offset = c->offset;
	}
}

static int chunk(const char *md, int size, int overlap, const char *title, struct chunk_list *out)
{
	struct chunk_opts o = {size, overlap, title};
	return chunk_text(md, strlen(md), &o, out);
}

/* Deterministic prose: paragraph p of a document, sentences of varying length. */
static void paragraph(struct buf *b, unsigned p, unsigned sentences)
{
	static const char *const words[] = {"index", "table", "query", "planner", "vacuum", "tuple", "page",
	                                    "lock", "snapshot", "buffer", "relation", "column", "scan", "heap"};
	unsigned x = p * 2654435761u + 7;
	for (unsigned s = 0; s < sentences; s++) {
		unsigned n = 6 + (x >> 7) % 9;
		for (unsigned w = 0; w < n; w++) {
			x = x * 1103515245u + 12345u;
			const char *word = words[(x >> 16) % 14];
			if (w == 0)
				buf_printf(b, "%c%s", word[0] - 32, word + 1);
			else
				buf_printf(b, " %s", word);
		}
		buf_puts(b, s + 1 < sentences ? ". " : ".");
	}
	buf_puts(b, "\n\n");
}

static char *long_document(unsigned sections, unsigned paras, unsigned edited)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "# Manual\n\n");
	for (unsigned s = 0; s < sections; s++) {
		buf_printf(&b, "## Section %u\n\n", s);
		for (unsigned p = 0; p < paras; p++) {
			unsigned id = s * 100 + p;
			paragraph(&b, id == edited ? id + 7777 : id, 2 + id % 4);
		}
	}
	return buf_steal(&b);
}

/* ---- basics -------------------------------------------------------------------------------- */

TEST(small_text_is_one_chunk)
{
	struct chunk_list l = CHUNK_LIST_INIT;
	ASSERT_INT_EQ(chunk("\n\n# Title\n\nHello world.  \n\n", 500, 50, NULL, &l), 1);
	ASSERT_STR_EQ(l.items[0].content, "# Title\n\nHello world.");
	ASSERT_STR_EQ(l.items[0].heading_path, "Title");
	ASSERT_INT_EQ(l.items[0].offset, 2);
	ASSERT_INT_EQ(l.items[0].chars, 21);
	ASSERT_INT_EQ(l.items[0].words, 4);
	ASSERT_TRUE(!l.items[0].has_code);
	char hex[HASH_HEX_LEN + 1];
	hash_sha256_hex("# Title\n\nHello world.", 21, hex);
	ASSERT_STR_EQ(l.items[0].hash, hex);
	chunk_list_free(&l);
}

TEST(sha256_known_answer)
{
	char hex[HASH_HEX_LEN + 1];
	hash_sha256_hex("abc", 3, hex);
	ASSERT_STR_EQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	hash_sha256_hex("", 0, hex);
	ASSERT_STR_EQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(invalid_options_and_empty_input)
{
	struct chunk_list l = CHUNK_LIST_INIT;
	ASSERT_INT_EQ(chunk("text", CHUNK_MIN_SIZE - 1, 0, NULL, &l), -1);
	ASSERT_INT_EQ(chunk("text", 100, 51, NULL, &l), -1);
	ASSERT_INT_EQ(chunk("text", 100, -1, NULL, &l), -1);
	ASSERT_INT_EQ(chunk("", 100, 10, NULL, &l), 0);
	ASSERT_INT_EQ(chunk(" \n\n\t\n", 100, 10, NULL, &l), 0);
	ASSERT_INT_EQ(l.n, 0);
	ASSERT_INT_EQ(chunk_text("some text", 9, NULL, &l), 1); /* NULL: defaults */
	chunk_list_free(&l);
}

TEST(chunks_respect_size_and_cover_the_text)
{
	char *md = long_document(6, 8, 9999);
	struct chunk_list l = CHUNK_LIST_INIT;
	ASSERT_TRUE(chunk(md, 400, 60, NULL, &l) > 10);
	check_chunks(&l, 400, 0);
	/* every paragraph start is in some chunk, and chunks end at sentence ends or better */
	size_t ends_ok = 0;
	for (size_t i = 0; i < l.n; i++) {
		const char *c = l.items[i].content;
		ends_ok += c[strlen(c) - 1] == '.';
	}
	ASSERT_TRUE(ends_ok * 10 >= l.n * 9);
	for (const char *p = md; (p = strstr(p, "\n\n")); p += 2) {
		char probe[24] = {0};
		strncpy(probe, p + 2, sizeof(probe) - 1);
		bool found = !probe[0];
		for (size_t i = 0; i < l.n && !found; i++)
			found = strstr(l.items[i].content, probe) != NULL;
		if (!found)
			TEST_FAIL_AT("paragraph \"%s\" is in no chunk", probe);
	}
	chunk_list_free(&l);
	free(md);
}

/* ---- fences -------------------------------------------------------------------------------- */

TEST(fence_that_fits_is_never_split)
{
	struct buf b = BUF_INIT;
	paragraph(&b, 1, 3);
	buf_puts(&b, "```sql\n");
	for (int i = 0; i < 6; i++)
		buf_printf(&b, "SELECT %d FROM generate_series(1, 10);\n", i);
	buf_puts(&b, "```\n\n");
	paragraph(&b, 2, 3);
	paragraph(&b, 3, 3);
	struct chunk_list l = CHUNK_LIST_INIT;
	chunk(b.data, 300, 50, NULL, &l);
	check_chunks(&l, 300, 0);
	int whole = 0;
	for (size_t i = 0; i < l.n; i++)
		if (strstr(l.items[i].content, "SELECT 0") || strstr(l.items[i].content, "SELECT 5")) {
			const char *c = l.items[i].content;
			whole += strstr(c, "```sql\nSELECT 0") && strstr(c, "SELECT 5");
			ASSERT_TRUE(l.items[i].has_code);
		}
	ASSERT_INT_EQ(whole, 1);
	chunk_list_free(&l);
	buf_free(&b);
}

TEST(giant_fence_is_split_at_lines_and_reopened)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "Intro paragraph.\n\n```python\n");
	for (int i = 0; i < 120; i++)
		buf_printf(&b, "value_%03d = compute(%d)  # line\n", i, i);
	buf_puts(&b, "```\n\nAfter the code.\n");
	struct chunk_list l = CHUNK_LIST_INIT;
	chunk(b.data, 400, 80, NULL, &l);
	check_chunks(&l, 400, 0);
	ASSERT_TRUE(l.n > 8);
	for (int i = 0; i < 120; i++) {
		char line[64];
		snprintf(line, sizeof(line), "value_%03d = compute(%d)  # line\n", i, i);
		bool found = false;
		for (size_t k = 0; k < l.n && !found; k++)
			found = strstr(l.items[k].content, line) != NULL;
		if (!found)
			TEST_FAIL_AT("code line %d lost", i);
	}
	for (size_t k = 1; k + 1 < l.n; k++) {
		const char *c = l.items[k].content;
		ASSERT_TRUE(!strncmp(c, "```python\nvalue_", 16)); /* re-opened with its language, whole lines */
		ASSERT_TRUE(l.items[k].has_code);
	}
	ASSERT_STR_CONTAINS(l.items[l.n - 1].content, "```\n\nAfter the code.");
	chunk_list_free(&l);
	buf_free(&b);
}

TEST(overlap_never_carries_fence_lines)
{
	struct buf b = BUF_INIT;
	for (int k = 0; k < 8; k++) {
		paragraph(&b, (unsigned)k, 2);
		buf_printf(&b, "```\ncode block %d\n```\n", k);
	}
	struct chunk_list l = CHUNK_LIST_INIT;
	chunk(b.data, 200, 100, NULL, &l);
	check_chunks(&l, 200, 0);
	for (size_t i = 0; i < l.n; i++)
		if (!strncmp(l.items[i].content, "```\n", 4) && strncmp(l.items[i].content, "```\ncode", 8))
			TEST_FAIL_AT("chunk %zu starts with a closing fence", i);
	chunk_list_free(&l);
	buf_free(&b);
}

TEST(unclosed_fence_is_closed_in_its_chunk)
{
	struct chunk_list l = CHUNK_LIST_INIT;
	ASSERT_INT_EQ(chunk("Text.\n\n~~~~ sql\nSELECT 1;\n# not a heading\n", 200, 0, "T", &l), 1);
	ASSERT_STR_EQ(l.items[0].content, "Text.\n\n~~~~ sql\nSELECT 1;\n# not a heading\n~~~~");
	ASSERT_STR_EQ(l.items[0].heading_path, "T");
	ASSERT_TRUE(l.items[0].has_code);
	chunk_list_free(&l);
}

TEST(pieces_of_lines_never_read_as_fences)
{
	struct buf b = BUF_INIT;
	for (int i = 0; i < 40; i++) /* fence-looking runs inside prose lines, and an indented one */
		buf_printf(&b, "word%d and ```sql more ~~~~ text `x` here%s\n", i, i % 3 ? "" : " end.");
	buf_puts(&b, "     ```not a fence either\n\n```\n");
	for (int i = 0; i < 30; i++) /* a giant block whose lines hold runs of the fence character */
		buf_printf(&b, "code %d ```` ``` ``                                     `\n", i);
	buf_puts(&b, "```\n");
	for (int overlap = 0; overlap <= 30; overlap += 15) {
		struct chunk_list l = CHUNK_LIST_INIT;
		chunk(b.data, 64, overlap, NULL, &l);
		check_chunks(&l, 64, 0);
		size_t block = (size_t)(strstr(b.data, "\n```\ncode") + 1 - b.data);
		for (size_t i = 0; i < l.n; i++) {
			const char *c = l.items[i].content;
			bool fence_like = (c[0] == '`' || c[0] == '~') && c[1] == c[0] && c[2] == c[0];
			bool reopened = !strncmp(c, "```\n", 4) && l.items[i].offset >= block; /* the block's own */
			if (fence_like && !reopened)
				TEST_FAIL_AT("chunk %zu starts with a fence-like piece: %s", i, c);
		}
		chunk_list_free(&l);
	}
	buf_free(&b);
}

TEST(a_block_that_exactly_fits_is_whole)
{
	/* an unclosed block: the closing fence a chunk adds counts too */
	const char *md = "Intro words.\n\n```\n0123456789012345678901234567890123456789012345678901234";
	struct chunk_list l = CHUNK_LIST_INIT;
	ASSERT_INT_EQ(chunk(md, 64, 0, NULL, &l), 2);
	check_chunks(&l, 64, 0);
	ASSERT_STR_EQ(l.items[0].content, "Intro words.");
	ASSERT_TRUE(!strncmp(l.items[1].content, "```\n0123", 8));
	chunk_list_free(&l);
}

/* ---- overlap, headings --------------------------------------------------------------------- */

TEST(overlap_repeats_the_previous_tail)
{
	struct buf b = BUF_INIT;
	for (unsigned p = 0; p < 12; p++)
		paragraph(&b, p, 3);
	struct chunk_list l = CHUNK_LIST_INIT;
	chunk(b.data, 300, 100, NULL, &l);
	check_chunks(&l, 300, 0);
	ASSERT_TRUE(l.n > 4);
	for (size_t i = 1; i < l.n; i++) {
		char head[40] = {0};
		strncpy(head, l.items[i].content, 30);
		ASSERT_STR_CONTAINS(l.items[i - 1].content, head); /* starts with text of the previous chunk */
		ASSERT_TRUE(head[0] >= 'A' && head[0] <= 'Z');     /* at a sentence start */
	}
	chunk_list_free(&l);
	buf_free(&b);
}

TEST(heading_paths_follow_the_heading_stack)
{
	const char *md = "# Guide\n\nIntro text that is long enough to fill a good part of a chunk here.\n\n"
	                 "## Install\n\nInstall text that is long enough to fill a good part of a chunk.\n\n"
	                 "### From source\n\nSource text that is long enough to fill a good part of a chunk.\n\n"
	                 "## Use ##\n\nUsage text that is long enough to fill a good part of a chunk too.\n";
	struct chunk_list l = CHUNK_LIST_INIT;
	ASSERT_INT_EQ(chunk(md, 100, 20, "Guide", &l), 4);
	ASSERT_STR_EQ(l.items[0].heading_path, "Guide");
	ASSERT_STR_EQ(l.items[1].heading_path, "Guide > Install");
	ASSERT_STR_EQ(l.items[2].heading_path, "Guide > Install > From source");
	ASSERT_STR_EQ(l.items[3].heading_path, "Guide > Use");
	ASSERT_TRUE(!strncmp(l.items[3].content, "## Use ##\n", 10)); /* no overlap before a heading */
	chunk_list_free(&l);
	ASSERT_INT_EQ(chunk(md, 100, 0, "Site", &l), 4);
	ASSERT_STR_EQ(l.items[2].heading_path, "Site > Guide > Install > From source");
	chunk_list_free(&l);
}

TEST(cjk_counts_code_points_and_splits_at_full_stops)
{
	struct buf b = BUF_INIT;
	for (int i = 0; i < 60; i++)
		buf_puts(&b, "数据库索引可以加快查询速度但会占用空间。"); /* 20 code points */
	struct chunk_list l = CHUNK_LIST_INIT;
	chunk(b.data, 100, 0, NULL, &l);
	check_chunks(&l, 100, 0);
	ASSERT_INT_EQ(l.n, 12);
	for (size_t i = 0; i < l.n; i++) {
		ASSERT_INT_EQ(l.items[i].chars, 100);
		ASSERT_INT_EQ(l.items[i].words, 100);
		const char *c = l.items[i].content;
		ASSERT_STR_EQ(c + strlen(c) - 3, "。");
	}
	chunk_list_free(&l);
	buf_free(&b);
}

TEST(long_word_is_cut_at_code_points)
{
	struct buf b = BUF_INIT;
	for (int i = 0; i < 5000; i++)
		buf_puts(&b, i % 2 ? "é" : "€");
	struct chunk_list l = CHUNK_LIST_INIT;
	chunk(b.data, 300, 50, NULL, &l);
	check_chunks(&l, 300, 0);
	size_t total = 0;
	for (size_t i = 0; i < l.n; i++)
		total += (size_t)l.items[i].chars;
	ASSERT_INT_EQ(total, 5000); /* no word boundary: no overlap either */
	chunk_list_free(&l);
	buf_free(&b);
}

/* ---- stability ----------------------------------------------------------------------------- */

static bool has_hash(const struct chunk_list *l, const char *hash)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->items[i].hash, hash))
			return true;
	return false;
}

TEST(same_input_same_chunks_and_edits_stay_local)
{
	char *a = long_document(30, 5, 9999), *b = long_document(30, 5, 9999);
	char *edited = long_document(30, 5, 1502); /* section 15, paragraph 2 */
	struct chunk_list la = CHUNK_LIST_INIT, lb = CHUNK_LIST_INIT, le = CHUNK_LIST_INIT;
	chunk(a, 800, 100, "Manual", &la);
	chunk(b, 800, 100, "Manual", &lb);
	chunk(edited, 800, 100, "Manual", &le);
	ASSERT_TRUE(strcmp(a, edited) != 0);
	ASSERT_INT_EQ(la.n, lb.n);
	for (size_t i = 0; i < la.n && i < lb.n; i++)
		ASSERT_STR_EQ(la.items[i].hash, lb.items[i].hash);
	size_t changed = 0;
	for (size_t i = 0; i < le.n; i++)
		changed += !has_hash(&la, le.items[i].hash);
	if (changed < 1 || changed > 3)
		TEST_FAIL_AT("%zu of %zu chunks changed after editing one paragraph", changed, le.n);
	ASSERT_TRUE(la.n > 40);
	chunk_list_free(&la);
	chunk_list_free(&lb);
	chunk_list_free(&le);
	free(a);
	free(b);
	free(edited);
}

/* ---- the PostgreSQL documentation ---------------------------------------------------------- */

static const char *pg_doc_dir(void)
{
	const char *env = getenv("PGKB_PG_DOC_DIR");
	return env ? env : PG_DOC_DIR;
}

TEST(pg_docs_create_index_chunks)
{
	char *path = xasprintf("%s/sql-createindex.html", pg_doc_dir());
	size_t len;
	char *html = test_read_file(path, &len);
	if (!html) {
		printf("  skip: %s not found (install postgresql-doc-15 or set PGKB_PG_DOC_DIR)\n", path);
		free(path);
		return;
	}
	struct html_doc d;
	ASSERT_INT_EQ(html_to_markdown(html, len, &d, NULL), 0);
	struct chunk_list l = CHUNK_LIST_INIT;
	ASSERT_TRUE(chunk(d.markdown, 1000, 100, d.title, &l) > 10);
	check_chunks(&l, 1000, 0);
	int found = 0;
	for (size_t i = 0; i < l.n; i++) {
		if (strstr(l.items[i].content, "`CONCURRENTLY`\n\nWhen this option is used")) {
			ASSERT_STR_EQ(l.items[i].heading_path, "CREATE INDEX > Parameters");
			found++;
		}
		if (strstr(l.items[i].content, "## Synopsis"))
			ASSERT_TRUE(l.items[i].has_code);
		if (!strncmp(l.items[i].content, "### Building Indexes Concurrently", 33)) {
			ASSERT_STR_EQ(l.items[i].heading_path,
			              "CREATE INDEX > Parameters > Building Indexes Concurrently");
			found++;
		}
	}
	ASSERT_INT_EQ(found, 2);
	chunk_list_free(&l);
	html_doc_free(&d);
	free(html);
	free(path);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted paths of the .html files in dir; NULL-terminated, count in *n. */
static char **html_files(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	char **v = NULL;
	size_t count = 0, cap = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 5, ".html"))
			continue;
		if (count + 1 >= cap) {
			cap = cap ? cap * 2 : 256;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[count++] = xasprintf("%s/%s", dir, e->d_name);
	}
	if (d)
		closedir(d);
	if (v) {
		qsort(v, count, sizeof(*v), name_cmp);
		v[count] = NULL;
	}
	*n = count;
	return v;
}

/* Converts, chunks and extracts code from the whole PostgreSQL manual (every 25th page when
 * PGKB_TEST_QUICK is set, e.g. under valgrind) and reports the time taken. */
TEST(pg_docs_all_pages_pipeline)
{
	size_t nfiles;
	char **files = html_files(pg_doc_dir(), &nfiles);
	if (nfiles < 100) {
		printf("  skip: no PostgreSQL docs at %s\n", pg_doc_dir());
		for (size_t i = 0; i < nfiles; i++)
			free(files[i]);
		free(files);
		return;
	}
	size_t step = getenv("PGKB_TEST_QUICK") ? 25 : 1, bytes = 0, chunks = 0, examples = 0, pages = 0;
	double secs = 0;
	for (size_t i = 0; i < nfiles; i += step) {
		size_t len;
		char *html = test_read_file(files[i], &len);
		if (!html)
			continue;
		clock_t t0 = clock();
		struct html_doc d;
		struct chunk_list l = CHUNK_LIST_INIT;
		struct codeblock_list cb = CODEBLOCK_LIST_INIT;
		struct codeblock_opts co = {80, 0, 300};
		ASSERT_INT_EQ(html_to_markdown(html, len, &d, NULL), 0);
		chunk(d.markdown, 1500, 150, d.title, &l);
		codeblock_extract(d.markdown, d.markdown_len, &co, &cb);
		secs += (double)(clock() - t0) / CLOCKS_PER_SEC;
		check_chunks(&l, 1500, 0);
		if (!*d.title || !d.markdown_len || strstr(d.markdown, "accesskey"))
			TEST_FAIL_AT("%s: no title or text", files[i]);
		bytes += len;
		chunks += l.n;
		examples += cb.n;
		pages++;
		codeblock_list_free(&cb);
		chunk_list_free(&l);
		html_doc_free(&d);
		free(html);
	}
	printf("  %zu pages, %.1f MB: %zu chunks, %zu code examples in %.3f s CPU\n", pages, bytes / 1e6, chunks,
	       examples, secs);
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
