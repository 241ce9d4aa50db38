/* Unit tests: fence recognition and code example extraction (language, limits, context, hashes). */
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util/buf.h"
#include "lib/text/codeblock.h"
#include "lib/util/hash.h"
#include "lib/text/html.h"
#include "lib/util/mem.h"

#ifndef PG_DOC_DIR
#define PG_DOC_DIR "/usr/share/doc/postgresql-doc-15/html"
#endif

static bool opens(const char *line)
{
	struct codeblock_fence f;
	return codeblock_fence_open(line, strlen(line), &f);
}

TEST(fence_lines_follow_commonmark)
{
	struct codeblock_fence f;
	ASSERT_TRUE(codeblock_fence_open("   ```` Python {.x}  ", 21, &f));
	ASSERT_INT_EQ(f.ch, '`');
	ASSERT_INT_EQ(f.len, 4);
	ASSERT_INT_EQ(f.indent, 3);
	ASSERT_INT_EQ(f.info_len, 11);
	char lang[CODEBLOCK_LANG_MAX + 1];
	codeblock_fence_lang(&f, lang);
	ASSERT_STR_EQ(lang, "python");
	ASSERT_TRUE(opens("~~~"));
	ASSERT_TRUE(opens("~~~ has `backticks`"));
	ASSERT_TRUE(!opens("``` has `backticks`"));
	ASSERT_TRUE(!opens("    ```")); /* indented code, not a fence */
	ASSERT_TRUE(!opens("``"));
	ASSERT_TRUE(!opens("\\```"));
	ASSERT_TRUE(codeblock_fence_close("`````  ", 7, &f));
	ASSERT_TRUE(codeblock_fence_close("````\r", 5, &f));
	ASSERT_TRUE(!codeblock_fence_close("```", 3, &f)); /* shorter than the opening fence */
	ASSERT_TRUE(!codeblock_fence_close("```` x", 6, &f));
	ASSERT_TRUE(!codeblock_fence_close("~~~~", 4, &f));
}

TEST(extract_with_language_limits_and_context)
{
	const char *md = "# Title\n\nSome words before the first block of code here.\n\n"
	                 "```SQL\nSELECT * FROM weather;\n```\n\n"
	                 "Words after the first block and before the second.\n\n"
	                 "```\nx\n```\n"
	                 "  ~~~ python3 extra\n  def f():\n      return 1\n  ~~~\ntrailing words";
	struct codeblock_list l = CODEBLOCK_LIST_INIT;
	struct codeblock_opts o = {.min_chars = 5, .context_chars = 20};
	ASSERT_INT_EQ(codeblock_extract(md, strlen(md), &o, &l), 2);
	ASSERT_INT_EQ(l.n, 2);
	struct code_example *e = &l.items[0];
	ASSERT_STR_EQ(e->language, "sql");
	ASSERT_STR_EQ(e->code, "SELECT * FROM weather;");
	ASSERT_INT_EQ(e->chars, 22);
	ASSERT_STR_EQ(e->context_before, "block of code here.");
	ASSERT_STR_EQ(e->context_after, "Words after the");
	ASSERT_INT_EQ(e->offset, strstr(md, "```SQL") - md);
	char hex[HASH_HEX_LEN + 1];
	hash_sha256_hex(e->code, strlen(e->code), hex);
	ASSERT_STR_EQ(e->hash, hex);
	e = &l.items[1]; /* "x" is below min_chars; the indented tilde fence loses its indentation */
	ASSERT_STR_EQ(e->language, "python3");
	ASSERT_STR_EQ(e->code, "def f():\n    return 1");
	ASSERT_STR_EQ(e->context_before, "");
	ASSERT_STR_EQ(e->context_after, "trailing words");
	codeblock_list_free(&l);
	ASSERT_INT_EQ(l.n, 0);
	o = (struct codeblock_opts){.max_chars = 10};
	ASSERT_INT_EQ(codeblock_extract(md, strlen(md), &o, &l), 1); /* only "x" is short enough */
	ASSERT_STR_EQ(l.items[0].code, "x");
	ASSERT_STR_EQ(l.items[0].context_after, "");
	codeblock_list_free(&l);
}

TEST(unclosed_and_empty_blocks)
{
	struct codeblock_list l = CODEBLOCK_LIST_INIT;
	const char *md = "```\n\n\n```\ntext\n```js\n\n  let a = 1;\n\n";
	ASSERT_INT_EQ(codeblock_extract(md, strlen(md), NULL, &l), 1); /* the empty block is skipped */
	ASSERT_STR_EQ(l.items[0].language, "js");
	ASSERT_STR_EQ(l.items[0].code, "  let a = 1;");
	codeblock_list_free(&l);
	ASSERT_INT_EQ(codeblock_extract("", 0, NULL, &l), 0);
	ASSERT_INT_EQ(codeblock_extract("````", 4, NULL, &l), 0);
	codeblock_list_free(&l);
}

TEST(pg_docs_code_examples)
{
	const char *dir = getenv("PGKB_PG_DOC_DIR") ? getenv("PGKB_PG_DOC_DIR") : PG_DOC_DIR;
	char *path = xasprintf("%s/tutorial-select.html", dir);
	size_t len;
	char *html = test_read_file(path, &len);
	if (!html) {
		printf("  skip: %s not found (install postgresql-doc-15 or set PGKB_PG_DOC_DIR)\n", path);
		free(path);
		return;
	}
	struct html_doc d;
	ASSERT_INT_EQ(html_to_markdown(html, len, &d, NULL), 0);
	struct codeblock_list l = CODEBLOCK_LIST_INIT;
	struct codeblock_opts o = {.min_chars = 40, .context_chars = 200};
	ASSERT_TRUE(codeblock_extract(d.markdown, d.markdown_len, &o, &l) >= 5);
	size_t sql = 0;
	for (size_t i = 0; i < l.n; i++) {
		ASSERT_TRUE(l.items[i].chars >= 40);
		if (!strcmp(l.items[i].language, "sql"))
			sql++;
		if (!strncmp(l.items[i].code, "SELECT ", 7))
			ASSERT_STR_EQ(l.items[i].language, "sql");
		if (strstr(l.items[i].code, "(3 rows)")) /* query output is not SQL */
			ASSERT_STR_EQ(l.items[i].language, "");
	}
	ASSERT_TRUE(sql >= 4);
	bool found = false;
	for (size_t i = 0; i < l.n; i++)
		if (!strcmp(l.items[i].code, "SELECT city, (temp_hi+temp_lo)/2 AS temp_avg, date FROM weather;")) {
			found = true;
			ASSERT_STR_CONTAINS(l.items[i].context_before, "For example, you can do:");
			ASSERT_STR_EQ(l.items[i].context_after, "This should give:");
		}
	ASSERT_TRUE(found);
	codeblock_list_free(&l);
	html_doc_free(&d);
	free(html);
	free(path);
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
