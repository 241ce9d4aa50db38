/* Unit tests: HTML/Markdown/text conversion, fixtures, the PostgreSQL docs, hostile input. */
#include "testlib.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/util/buf.h"
#include "lib/text/html.h"
#include "lib/text/html_lang.h"
#include "lib/util/mem.h"
#include "lib/text/utf8.h"

#ifndef PG_DOC_DIR
#define PG_DOC_DIR "/usr/share/doc/postgresql-doc-15/html"
#endif

/* ---- helpers ------------------------------------------------------------------------------- */

/* tests/data/html/NAME: from $PGKB_TEST_DATA, else next to this source file. */
static char *fixture(const char *name, size_t *len)
{
	const char *env = getenv("PGKB_TEST_DATA"), *slash = strrchr(__FILE__, '/');
	int dirlen = slash ? (int)(slash - __FILE__) : 1;
	char *path = env ? xasprintf("%s/html/%s", env, name)
	                 : xasprintf("%.*s/../data/html/%s", dirlen, slash ? __FILE__ : ".", name);
	char *data = test_read_file(path, len);
	if (!data)
		TEST_FAIL_AT("cannot read fixture %s", path);
	free(path);
	return data;
}

static const char *pg_doc_dir(void)
{
	const char *env = getenv("PGKB_PG_DOC_DIR");
	return env ? env : PG_DOC_DIR;
}

/* Reads a page of the PostgreSQL HTML docs, or prints why the test is skipped and returns NULL. */
static char *pg_doc(const char *page, size_t *len)
{
	char *path = xasprintf("%s/%s", pg_doc_dir(), page);
	char *data = test_read_file(path, len);
	if (!data)
		printf("  skip: %s not found (install postgresql-doc-15 or set PGKB_PG_DOC_DIR)\n", path);
	free(path);
	return data;
}

static struct html_doc convert_str(const char *html)
{
	struct html_doc d;
	char *err = NULL;
	int rc = html_to_markdown(html, strlen(html), &d, &err);
	ASSERT_INT_EQ(rc, 0);
	free(err);
	return d;
}

static struct html_doc convert_fixture(const char *name)
{
	size_t len = 0;
	char *data = fixture(name, &len);
	struct html_doc d = {0};
	char *err = NULL;
	if (data)
		ASSERT_INT_EQ(html_doc_convert(data, len, HTML_FORMAT_AUTO, NULL, &d, &err), 0);
	free(err);
	free(data);
	if (!d.markdown)
		d = (struct html_doc){xstrdup(""), xstrdup(""), xstrdup(""), 0, HTML_FORMAT_AUTO, 0};
	return d;
}

#define ASSERT_NOT_CONTAINS(hay, needle) ASSERT_TRUE(strstr((hay), (needle)) == NULL)

/* ---- fixtures ------------------------------------------------------------------------------ */

TEST(table_becomes_pipe_table)
{
	struct html_doc d = convert_fixture("tables.html");
	ASSERT_STR_CONTAINS(d.markdown, "# Operators\n\nComparison operators\n\n"
	                                "| Operator | Description |\n| --- | --- |\n| `<` | less than |\n");
	ASSERT_STR_CONTAINS(d.markdown, "| `a\\|b` | pipe inside a cell with a break |\n");
	ASSERT_STR_CONTAINS(d.markdown, "| spans two columns |  |\n\nAfter the table.");
	/* a table holding a code block is layout: its cells become paragraphs, the code stays fenced */
	ASSERT_STR_CONTAINS(d.markdown, "Layout cell text.\n\n```sql\nSELECT 1;\n```");
	ASSERT_INT_EQ(d.format, HTML_FORMAT_HTML);
	html_doc_free(&d);
}

TEST(nested_lists_keep_numbering_and_indent)
{
	struct html_doc d = convert_fixture("lists.html");
	ASSERT_STR_CONTAINS(d.markdown, "## Steps\n\n1. First step\n2. Second step\n   - nested bullet A\n"
	                                "   - nested bullet B\n     7. deep seven\n     8. deep eight\n");
	ASSERT_STR_CONTAINS(d.markdown,
	                    "3. Third step paragraph one.\n\n   Third step paragraph two.\n\n- plain item");
	ASSERT_NOT_CONTAINS(d.markdown, "4.");
	html_doc_free(&d);
}

TEST(code_blocks_keep_language)
{
	struct html_doc d = convert_fixture("code.html");
	ASSERT_STR_EQ(d.title, "Code samples");
	ASSERT_STR_EQ(d.description, "Examples of code blocks.");
	ASSERT_STR_CONTAINS(d.markdown, "Use `print()` to write output:\n\n```python\ndef greet(name):\n"
	                                "    print(f\"hello {name}\")  # <greeting>\n```");
	ASSERT_STR_CONTAINS(d.markdown, "```ruby\nputs \"hi\"\n```");
	ASSERT_STR_CONTAINS(d.markdown, "```js\nconsole.log(\"x && y\");\n```");
	ASSERT_STR_CONTAINS(d.markdown, "```sql\nSELECT * FROM weather WHERE city = 'Hayward';\n```");
	ASSERT_STR_CONTAINS(d.markdown, "```shell\n$ psql -c 'SELECT 1'\n```");
	/* code holding a fence gets a longer fence */
	ASSERT_STR_CONTAINS(d.markdown, "````\n```\nfence inside code\n```\n````");
	ASSERT_STR_CONTAINS(d.markdown, "Inline with backtick: ``a`b`` and `Ctrl`+`C`.");
	html_doc_free(&d);
}

TEST(boilerplate_is_dropped)
{
	struct html_doc d = convert_fixture("boilerplate.html");
	static const char *const gone[] = {"secret", "color: red", "SiteHeaderLink", "NavItem", "Home > Docs",
	                                   "cookies", "MenuEntry", "RoleNavigation", "SidebarText", "JavaScript",
	                                   "TemplateText", "SvgText", "IframeText", "FormValue", "ButtonText",
	                                   "HiddenText", "SiteFooter", NULL};
	for (const char *const *g = gone; *g; g++)
		if (strstr(d.markdown, *g))
			TEST_FAIL_AT("\"%s\" should be dropped from:\n%s", *g, d.markdown);
	ASSERT_STR_EQ(d.markdown, "# Article Title\n\nReal content here.\n\nArticle footer kept");
	ASSERT_STR_EQ(d.title, "Boilerplate");
	html_doc_free(&d);
}

TEST(entities_decoded_and_whitespace_collapsed)
{
	struct html_doc d = convert_fixture("entities.html");
	ASSERT_STR_EQ(d.title, "Café & Bar");
	ASSERT_STR_EQ(d.description, "Fish & chips");
	ASSERT_STR_CONTAINS(d.markdown, "café <tag> \"quoted\" € \xF0\x9F\x98\x80 a b spaced out");
	/* text that would read as Markdown structure is escaped */
	ASSERT_STR_CONTAINS(d.markdown, "\n\\# not a heading\n");
	ASSERT_STR_CONTAINS(d.markdown, "\n\\``` not a fence");
	html_doc_free(&d);
}

TEST(meta_charset_latin1_is_decoded)
{
	struct html_doc d = convert_fixture("latin1.html");
	ASSERT_STR_EQ(d.title, "Café");
	ASSERT_STR_EQ(d.markdown, "naïve résumé €uro"); /* 0x80 is the euro sign in windows-1252 */
	html_doc_free(&d);
}

/* ---- small inline cases -------------------------------------------------------------------- */

TEST(title_falls_back_to_first_h1)
{
	struct html_doc d =
		convert_str("<body><h2>Second</h2><h1> Main  <code>Title</code></h1><h1>Other</h1>");
	ASSERT_STR_EQ(d.title, "Main `Title`");
	ASSERT_STR_EQ(d.description, "");
	ASSERT_STR_EQ(d.markdown, "## Second\n\n# Main `Title`\n\n# Other");
	html_doc_free(&d);
}

TEST(headings_links_and_breaks)
{
	struct html_doc d = convert_str("<h3></h3><p>See <a href=\"http://x/\">the <em>manual</em></a>.<br>"
	                                "Next line</p><h4>Four<br>words</h4><hr><p>end</p>");
	ASSERT_STR_EQ(d.markdown, "See the manual.\nNext line\n\n#### Four words\n\nend");
	html_doc_free(&d);
}

TEST(charset_parameter_overrides_meta)
{
	const char *html = "<meta charset=\"utf-8\"><p>\xE9t\xE9</p>";
	struct html_doc d;
	char *err = NULL;
	ASSERT_INT_EQ(html_doc_convert(html, strlen(html), HTML_FORMAT_HTML, "ISO-8859-1", &d, &err), 0);
	ASSERT_STR_EQ(d.markdown, "été");
	html_doc_free(&d);
	/* without it the bytes are invalid UTF-8 and become U+FFFD */
	ASSERT_INT_EQ(html_doc_convert(html, strlen(html), HTML_FORMAT_HTML, NULL, &d, &err), 0);
	ASSERT_STR_EQ(d.markdown, "\xEF\xBF\xBDt\xEF\xBF\xBD");
	html_doc_free(&d);
}

TEST(utf16_with_bom)
{
	const char le[] = "\xFF\xFE<\0p\0>\0h\0\xE9\0<\0/\0p\0>\0";
	struct html_doc d;
	char *err = NULL;
	ASSERT_INT_EQ(html_doc_convert(le, sizeof(le) - 1, HTML_FORMAT_HTML, NULL, &d, &err), 0);
	ASSERT_STR_EQ(d.markdown, "hé");
	html_doc_free(&d);
}

TEST(language_from_class_and_guess)
{
	char lang[CODEBLOCK_LANG_MAX + 1];
	ASSERT_TRUE(html_lang_from_class("foo language-Python bar", lang));
	ASSERT_STR_EQ(lang, "python");
	ASSERT_TRUE(html_lang_from_class("highlight highlight-source-c++", lang));
	ASSERT_STR_EQ(lang, "c++");
	ASSERT_TRUE(html_lang_from_class("sourceCode haskell", lang));
	ASSERT_STR_EQ(lang, "haskell");
	ASSERT_TRUE(!html_lang_from_class("programlisting", lang));
	ASSERT_STR_EQ(html_lang_detect("\n  CREATE TABLE t (a int);", 24), "sql");
	ASSERT_STR_EQ(html_lang_detect("select 1", 8), "sql");
	ASSERT_TRUE(html_lang_detect("Select a file", 13) == NULL); /* mixed case is prose */
	ASSERT_STR_EQ(html_lang_detect("test=# SELECT 1;", 16), "sql");
	ASSERT_STR_EQ(html_lang_detect("#include <stdio.h>", 18), "c");
	ASSERT_STR_EQ(html_lang_detect("$ make install", 14), "shell");
	ASSERT_STR_EQ(html_lang_detect("def f():\n  pass", 15), "python");
	ASSERT_STR_EQ(html_lang_detect("{\"a\": 1}", 8), "json");
	ASSERT_TRUE(html_lang_detect("host all all 127.0.0.1/32 trust", 31) == NULL);
}

TEST(guess_format)
{
	ASSERT_INT_EQ(html_guess_format("text/html; charset=utf-8", "x.md", "", 0), HTML_FORMAT_HTML);
	ASSERT_INT_EQ(html_guess_format("text/plain", "https://h/README.md?raw=1", "", 0), HTML_FORMAT_MARKDOWN);
	ASSERT_INT_EQ(html_guess_format(NULL, "notes.TXT", "# x", 3), HTML_FORMAT_TEXT);
	ASSERT_INT_EQ(html_guess_format(NULL, NULL, "  <!DOCTYPE html><p>x", 21), HTML_FORMAT_HTML);
	ASSERT_INT_EQ(html_guess_format(NULL, NULL, "intro\n## Usage\n", 15), HTML_FORMAT_MARKDOWN);
	ASSERT_INT_EQ(html_guess_format(NULL, NULL, "just words < and >", 18), HTML_FORMAT_TEXT);
	ASSERT_INT_EQ(html_guess_format("text/markdown", "page", "x", 1), HTML_FORMAT_MARKDOWN);
}

TEST(markdown_passes_through)
{
	const char *md = "\r\n---\r\ntitle: \"Front Title\"\r\ndescription: About it\r\n---\r\n\r\n"
	                 "# Heading\r\n\r\n```c\r\nint x;\r\n```\r\ntext\x01 \r\n\r\n";
	struct html_doc d;
	char *err = NULL;
	ASSERT_INT_EQ(html_doc_convert(md, strlen(md), HTML_FORMAT_MARKDOWN, NULL, &d, &err), 0);
	ASSERT_STR_EQ(d.title, "Front Title");
	ASSERT_STR_EQ(d.description, "About it");
	ASSERT_STR_EQ(d.markdown, "# Heading\n\n```c\nint x;\n```\ntext");
	ASSERT_INT_EQ(d.markdown_len, strlen(d.markdown));
	html_doc_free(&d);
	md = "intro\n```\nx\n```\n# The Title\n";
	ASSERT_INT_EQ(html_doc_convert(md, strlen(md), HTML_FORMAT_AUTO, NULL, &d, &err), 0);
	ASSERT_INT_EQ(d.format, HTML_FORMAT_MARKDOWN);
	ASSERT_STR_EQ(d.title, "The Title");
	html_doc_free(&d);
}

TEST(plain_text_is_escaped)
{
	const char *txt = "Release notes\n\n# not a heading\n  ```not a fence\nplain\n";
	struct html_doc d;
	char *err = NULL;
	ASSERT_INT_EQ(html_doc_convert(txt, strlen(txt), HTML_FORMAT_TEXT, NULL, &d, &err), 0);
	ASSERT_STR_EQ(d.title, "Release notes");
	ASSERT_STR_EQ(d.markdown, "Release notes\n\n\\# not a heading\n  \\```not a fence\nplain");
	html_doc_free(&d);
}

/* ---- hostile input ------------------------------------------------------------------------- */

TEST(empty_documents_give_empty_markdown)
{
	static const char *const inputs[] = {"", "   \n\t ", "<html><head><title>T</title></head><body> </body>",
	                                     "<script>x()</script><style>p{}</style>", NULL};
	for (const char *const *in = inputs; *in; in++) {
		struct html_doc d;
		char *err = NULL;
		ASSERT_INT_EQ(html_doc_convert(*in, strlen(*in), HTML_FORMAT_HTML, NULL, &d, &err), 0);
		ASSERT_TRUE(err == NULL);
		ASSERT_STR_EQ(d.markdown, "");
		ASSERT_INT_EQ(d.markdown_len, 0);
		html_doc_free(&d);
	}
	struct html_doc d;
	ASSERT_INT_EQ(html_doc_convert(NULL, 0, HTML_FORMAT_AUTO, NULL, &d, NULL), 0);
	ASSERT_STR_EQ(d.markdown, "");
	html_doc_free(&d);
}

TEST(binary_content_is_refused)
{
	static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H',
	                                    'D', 'R', 0, 0, 1, 0};
	struct html_doc d;
	char *err = NULL;
	ASSERT_INT_EQ(html_to_markdown((const char *)png, sizeof(png), &d, &err), -1);
	ASSERT_STR_EQ(err, "not a text document (binary content)");
	ASSERT_TRUE(d.markdown == NULL);
	free(err);
	ASSERT_INT_EQ(html_to_markdown("%PDF-1.7\n%\xE2\xE3\xCF\xD3", 14, &d, &err), -1);
	ASSERT_STR_EQ(err, "not a text document (PDF)");
	free(err);
	/* random bytes: deterministic LCG, 64 KiB */
	size_t n = 65536;
	unsigned char *rnd = xmalloc(n);
	unsigned x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		rnd[i] = (unsigned char)(x >> 16);
	}
	ASSERT_INT_EQ(html_to_markdown((const char *)rnd, n, &d, &err), -1);
	ASSERT_STR_CONTAINS(err, "not a text document");
	free(err);
	free(rnd);
	ASSERT_TRUE(html_is_binary("a\x01\x02\x03\x04", 5));
	const char *ansi = "plain\ttext\r\n\x1B[1mbold\x1B[0m";
	ASSERT_TRUE(!html_is_binary(ansi, strlen(ansi)));
}

TEST(invalid_utf8_and_late_nul_are_repaired)
{
	struct buf in = BUF_INIT;
	buf_puts(&in, "<title>bad \xC0\xAF title</title><p>a\xFF" "b \xED\xA0\x80 c\xF4\x90\x80\x80</p><p>");
	for (int i = 0; i < 1000; i++)
		buf_puts(&in, "padding text ");
	buf_append(&in, "x\0y</p>", 7); /* a NUL past the first 8 KiB */
	struct html_doc d;
	char *err = NULL;
	ASSERT_INT_EQ(html_to_markdown(in.data, in.len, &d, &err), 0);
	ASSERT_TRUE(utf8_is_clean(d.markdown, d.markdown_len));
	ASSERT_TRUE(utf8_is_clean(d.title, strlen(d.title)));
	ASSERT_STR_EQ(d.title, "bad \xEF\xBF\xBD\xEF\xBF\xBD title");
	ASSERT_STR_CONTAINS(d.markdown, "a\xEF\xBF\xBD" "b ");
	ASSERT_STR_CONTAINS(d.markdown, "padding text xy");
	ASSERT_INT_EQ(strlen(d.markdown), d.markdown_len);
	html_doc_free(&d);
	buf_free(&in);
}

static void deep(const char *open, const char *close, int depth)
{
	struct buf in = BUF_INIT;
	buf_puts(&in, "<p>before</p>");
	for (int i = 0; i < depth; i++)
		buf_puts(&in, open);
	buf_puts(&in, "deep text");
	for (int i = 0; i < depth; i++)
		buf_puts(&in, close);
	buf_puts(&in, "<p>after</p>");
	struct html_doc d;
	char *err = NULL;
	clock_t t0 = clock();
	ASSERT_INT_EQ(html_to_markdown(in.data, in.len, &d, &err), 0);
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	if (secs > 5)
		TEST_FAIL_AT("%d x %s took %.1f s", depth, open, secs);
	ASSERT_TRUE(utf8_is_clean(d.markdown, d.markdown_len));
	ASSERT_STR_CONTAINS(d.markdown, "before");
	html_doc_free(&d);
	buf_free(&in);
}

TEST(deep_nesting_does_not_overflow)
{
	/* libxml2 stops building the tree at depth 256 (without HTML_PARSE_HUGE); the walker itself is
	 * iterative, so neither limit matters for the C stack */
	deep("<div>", "</div>", 100000);
	deep("<ul><li>", "</li></ul>", 100000);
	deep("<table><tr><td>", "</td></tr></table>", 30000);
	deep("<b><i>", "</i></b>", 100000);
	deep("<pre>", "</pre>", 100000);
	deep("<h1>", "</h1>", 100000);
}

TEST(deep_nesting_below_the_parser_limit_renders)
{
	struct buf in = BUF_INIT;
	for (int i = 0; i < 120; i++) /* 240 elements deep */
		buf_puts(&in, "<div><span>");
	buf_puts(&in, "bottom");
	struct html_doc d = convert_str(in.data);
	ASSERT_STR_EQ(d.markdown, "bottom");
	ASSERT_INT_EQ(d.depth_limit, 0);
	html_doc_free(&d);
	buf_free(&in);
}

TEST(deep_nesting_past_the_parser_limit_says_so)
{
	/* the text before the nest is kept, the limit is reported instead of a silently short (or empty) text */
	struct buf in = BUF_INIT;
	buf_puts(&in, "<html><body><p>Before the nest.</p>");
	for (int i = 0; i < 800000; i++)
		buf_puts(&in, "<div>");
	buf_puts(&in, "deep text");
	struct html_doc d = convert_str(in.data);
	ASSERT_STR_EQ(d.markdown, "Before the nest.");
	ASSERT_INT_EQ(d.depth_limit, 256);
	html_doc_free(&d);
	buf_reset(&in);
	for (int i = 0; i < 800000; i++)
		buf_puts(&in, "<div>");
	buf_puts(&in, "deep text");
	d = convert_str(in.data);
	ASSERT_STR_EQ(d.markdown, "");
	ASSERT_INT_EQ(d.depth_limit, 256);
	html_doc_free(&d);
	buf_free(&in);
}

/* ---- the PostgreSQL documentation ---------------------------------------------------------- */

static void assert_no_navigation(const char *md)
{
	static const char *const nav[] = {"Prev", "Up", "Home", "Next", NULL};
	for (const char *const *w = nav; *w; w++) {
		size_t n = strlen(*w);
		for (const char *p = md; (p = strstr(p, *w)); p += n) {
			bool word_start = p == md || p[-1] == ' ' || p[-1] == '\n';
			bool word_end = p[n] == '\0' || p[n] == ' ' || p[n] == '\n';
			if (word_start && word_end)
				TEST_FAIL_AT("navigation word \"%s\" left in the text", *w);
		}
	}
}

TEST(pg_docs_create_index)
{
	size_t len;
	char *html = pg_doc("sql-createindex.html", &len);
	if (!html)
		return;
	struct html_doc d;
	char *err = NULL;
	ASSERT_INT_EQ(html_to_markdown(html, len, &d, &err), 0);
	ASSERT_STR_EQ(d.title, "CREATE INDEX");
	const char *start = "## CREATE INDEX\n\nCREATE INDEX — define a new index\n\n## Synopsis\n\n"
	                    "```sql\nCREATE [ UNIQUE ] INDEX [ CONCURRENTLY ]";
	ASSERT_TRUE(!strncmp(d.markdown, start, strlen(start)));
	ASSERT_STR_CONTAINS(d.markdown, "\n## Parameters\n\n`UNIQUE`\n\nCauses the system to check");
	ASSERT_STR_CONTAINS(d.markdown, "\n`CONCURRENTLY`\n\nWhen this option is used, PostgreSQL will build");
	ASSERT_STR_CONTAINS(d.markdown, "\n### Building Indexes Concurrently\n");
	assert_no_navigation(d.markdown);
	ASSERT_NOT_CONTAINS(d.markdown, "SQL Commands"); /* the navheader's "Up" title */
	ASSERT_NOT_CONTAINS(d.markdown, "class=");       /* no markup left */
	ASSERT_TRUE(utf8_is_clean(d.markdown, d.markdown_len));
	html_doc_free(&d);
	free(html);
}

TEST(pg_docs_tutorial_select)
{
	size_t len;
	char *html = pg_doc("tutorial-select.html", &len);
	if (!html)
		return;
	struct html_doc d;
	char *err = NULL;
	ASSERT_INT_EQ(html_to_markdown(html, len, &d, &err), 0);
	ASSERT_STR_EQ(d.title, "2.5. Querying a Table");
	ASSERT_STR_CONTAINS(d.markdown, "## 2.5. Querying a Table\n\nTo retrieve data from a table");
	ASSERT_STR_CONTAINS(d.markdown, "```sql\nSELECT * FROM weather;\n```");
	ASSERT_STR_CONTAINS(d.markdown, "```\n     city      | temp_lo | temp_hi | prcp |    date\n");
	assert_no_navigation(d.markdown);
	html_doc_free(&d);
	free(html);
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
