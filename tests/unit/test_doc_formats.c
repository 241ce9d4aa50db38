/* Unit tests: DOCX, ODT, PPTX, ODP and EPUB fixtures (tests/data/docs, made with pandoc) to Markdown-like
 * text: headings, lists, tables, code blocks, titles, slide and chapter pages, and that the chunker and code
 * extractor read the result as they read converted HTML. */
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

#include "lib/doc/doc.h"
#include "lib/doc/docconv.h"
#include "lib/text/chunk.h"
#include "lib/text/codeblock.h"
#include "lib/util/buf.h"
#include "lib/util/mem.h"

/* tests/data/docs/NAME: from $PGKB_TEST_DATA, else next to this source file. */
static char *fixture(const char *name, size_t *len)
{
	const char *env = getenv("PGKB_TEST_DATA"), *slash = strrchr(__FILE__, '/');
	int dirlen = slash ? (int)(slash - __FILE__) : 1;
	char *path = env ? xasprintf("%s/docs/%s", env, name)
	                 : xasprintf("%.*s/../data/docs/%s", dirlen, slash ? __FILE__ : ".", name);
	FILE *f = fopen(path, "rb");
	free(path);
	if (!f)
		return NULL;
	struct buf b = BUF_INIT;
	char tmp[65536];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	*len = b.len;
	return buf_steal(&b);
}

static struct doc_text extract(const char *name)
{
	size_t len = 0;
	char *data = fixture(name, &len);
	struct doc_text d = {0};
	char *err = NULL;
	ASSERT_TRUE(data != NULL);
	if (data) {
		ASSERT_INT_EQ(doc_extract(data, len, NULL, &d, &err), DOC_OK);
		ASSERT_TRUE(err == NULL);
	}
	free(err);
	free(data);
	if (!d.markdown) { /* keep later string checks well-defined */
		d.markdown = xstrdup("");
		d.title = xstrdup("");
		d.author = xstrdup("");
	}
	return d;
}

/* sample.md's body as DOCX and ODT give it: the title paragraph is metadata, the author line stays. */
static const char *const WORD_BODY =
	"Ada Tester\n\n# Installing widgets\n\nWidgets install in two steps. The first step unpacks the archive.\n\n"
	"## Requirements\n\n- a compiler\n- the widget library\n  - version 2 or later\n\n"
	"1. Download the archive.\n2. Run the installer.\n\n"
	"```\n$ widget install --prefix=/opt/widget\ndone\n```\n\n"
	"Use `widget --help` for options.\n\n# Reference\n\n"
	"| Option | Meaning |\n| --- | --- |\n| --prefix | where files go |\n| --quiet | less output |\n\n"
	"The end of the handbook.";

static size_t offset_of(const struct doc_text *d, const char *needle)
{
	const char *p = strstr(d->markdown, needle);
	ASSERT_TRUE(p != NULL);
	return p ? (size_t)(p - d->markdown) : 0;
}

/* The heading path of the chunk that holds needle, as the ingest worker would store it. */
static char *heading_path_of(const struct doc_text *d, const char *needle)
{
	struct chunk_opts o = {100, 0, d->title};
	struct chunk_list l = CHUNK_LIST_INIT;
	chunk_text(d->markdown, d->markdown_len, &o, &l);
	char *path = NULL;
	for (size_t i = 0; i < l.n && !path; i++)
		if (strstr(l.items[i].content, needle))
			path = xstrdup(l.items[i].heading_path);
	chunk_list_free(&l);
	return path ? path : xstrdup("(not found)");
}

TEST(docx_headings_lists_tables_code)
{
	struct doc_text d = extract("sample.docx");
	ASSERT_INT_EQ(d.format, DOC_FORMAT_DOCX);
	ASSERT_STR_EQ(d.title, "Widget Handbook");
	ASSERT_STR_EQ(d.author, "Ada Tester");
	ASSERT_STR_EQ(d.markdown, WORD_BODY);
	ASSERT_INT_EQ(d.markdown_len, strlen(WORD_BODY));
	ASSERT_INT_EQ(d.npages, 1);
	ASSERT_INT_EQ(doc_page_at(&d, d.markdown_len), 1);
	doc_text_free(&d);
}

TEST(odt_reads_like_docx)
{
	struct doc_text d = extract("sample.odt");
	ASSERT_INT_EQ(d.format, DOC_FORMAT_ODT);
	ASSERT_STR_EQ(d.title, "Widget Handbook");
	ASSERT_STR_EQ(d.author, "Ada Tester");
	ASSERT_STR_EQ(d.markdown, WORD_BODY);
	ASSERT_INT_EQ(d.npages, 1);
	doc_text_free(&d);
}

TEST(chunks_and_code_blocks_of_a_docx)
{
	struct doc_text d = extract("sample.docx");
	char *p = heading_path_of(&d, "Download the archive");
	ASSERT_STR_EQ(p, "Widget Handbook > Installing widgets > Requirements");
	free(p);
	p = heading_path_of(&d, "less output");
	ASSERT_STR_EQ(p, "Widget Handbook > Reference");
	free(p);
	struct codeblock_opts co = {10, 0, 200};
	struct codeblock_list cb = CODEBLOCK_LIST_INIT;
	codeblock_extract(d.markdown, d.markdown_len, &co, &cb);
	ASSERT_INT_EQ(cb.n, 1);
	if (cb.n == 1)
		ASSERT_STR_EQ(cb.items[0].code, "$ widget install --prefix=/opt/widget\ndone");
	codeblock_list_free(&cb);
	doc_text_free(&d);
}

TEST(pptx_slides_are_sections_and_pages)
{
	struct doc_text d = extract("sample.pptx");
	ASSERT_INT_EQ(d.format, DOC_FORMAT_PPTX);
	ASSERT_STR_EQ(d.title, "Widget Handbook");
	ASSERT_INT_EQ(d.npages, 4);
	ASSERT_STR_CONTAINS(d.markdown, "# Widget Handbook\n\nAda Tester\n\n# Installing widgets\n\n"
	                                "Widgets install in two steps. The first step unpacks the archive.\n\n");
	ASSERT_STR_CONTAINS(d.markdown, "- a compiler\n- the widget library\n  - version 2 or later\n\n"
	                                "1. Download the archive.\n2. Run the installer.\n\n");
	ASSERT_STR_CONTAINS(d.markdown, "```\n$ widget install --prefix=/opt/widget\ndone\n```\n\n"
	                                "Use `widget --help` for options.");
	ASSERT_STR_CONTAINS(d.markdown, "# Reference\n\n| Option | Meaning |\n| --- | --- |\n"
	                                "| --prefix | where files go |\n| --quiet | less output |");
	/* the last slide has no title: it is still a section of its own */
	ASSERT_STR_CONTAINS(d.markdown, "# Slide 4\n\nThe end of the handbook.");
	ASSERT_INT_EQ(doc_page_at(&d, 0), 1);
	ASSERT_INT_EQ(doc_page_at(&d, offset_of(&d, "# Installing widgets")), 2);
	ASSERT_INT_EQ(doc_page_at(&d, offset_of(&d, "Run the installer")), 2);
	ASSERT_INT_EQ(doc_page_at(&d, offset_of(&d, "# Reference")), 3);
	ASSERT_INT_EQ(doc_page_at(&d, offset_of(&d, "The end")), 4);
	ASSERT_INT_EQ(doc_page_at(&d, d.markdown_len), 4);
	char *p = heading_path_of(&d, "less output");
	ASSERT_STR_EQ(p, "Widget Handbook > Reference");
	free(p);
	doc_text_free(&d);
}

TEST(odp_slides_without_speaker_notes)
{
	struct doc_text d = extract("sample.odp");
	ASSERT_INT_EQ(d.format, DOC_FORMAT_ODP);
	ASSERT_STR_EQ(d.title, "Widget Handbook");
	ASSERT_STR_EQ(d.author, "Ada Tester");
	ASSERT_INT_EQ(d.npages, 4);
	ASSERT_STR_EQ(d.markdown,
	              "# Widget Handbook\n\nAda Tester\n\n# Installing widgets\n\nWidgets install in two steps.\n\n"
	              "- a compiler\n- the widget library\n\n1. Download the archive.\n2. Run the installer.\n\n"
	              "```\n$ widget install --prefix=/opt/widget\n```\n\nUse `widget --help` for options.\n\n"
	              "# Reference\n\n| Option | Meaning |\n| --- | --- |\n| --prefix | where files go |\n\n"
	              "# Slide 4\n\nThe end of the handbook.");
	ASSERT_TRUE(strstr(d.markdown, "Speaker notes") == NULL);
	ASSERT_INT_EQ(doc_page_at(&d, offset_of(&d, "# Reference")), 3);
	ASSERT_INT_EQ(doc_page_at(&d, offset_of(&d, "The end")), 4);
	doc_text_free(&d);
}

TEST(epub_chapters_in_spine_order_through_html)
{
	struct doc_text d = extract("sample.epub");
	ASSERT_INT_EQ(d.format, DOC_FORMAT_EPUB);
	ASSERT_STR_EQ(d.title, "Widget Handbook");
	ASSERT_STR_EQ(d.author, "Ada Tester");
	ASSERT_INT_EQ(d.npages, 3); /* title page, then one chapter per top-level section */
	size_t intro = offset_of(&d, "# Installing widgets"), ref = offset_of(&d, "# Reference");
	ASSERT_TRUE(intro < ref);
	ASSERT_INT_EQ(doc_page_at(&d, intro), 2);
	ASSERT_INT_EQ(doc_page_at(&d, ref), 3);
	ASSERT_STR_CONTAINS(d.markdown, "- a compiler\n- the widget library\n  - version 2 or later\n\n"
	                                "1. Download the archive.\n2. Run the installer.");
	ASSERT_STR_CONTAINS(d.markdown, "$ widget install --prefix=/opt/widget\ndone\n```");
	ASSERT_STR_CONTAINS(d.markdown, "| Option | Meaning |\n| --- | --- |\n| --prefix | where files go |");
	doc_text_free(&d);
}

TEST(contained_conversion_gives_the_same_text)
{
	const char *names[] = {"sample.docx", "sample.odt", "sample.pptx", "sample.odp", "sample.epub"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t len;
		char *data = fixture(names[i], &len);
		struct doc_text a = {0}, b = {0};
		char *e1 = NULL, *e2 = NULL;
		ASSERT_INT_EQ(doc_extract(data, len, NULL, &a, &e1), DOC_OK);
		ASSERT_INT_EQ(docconv_run(data, len, NULL, &b, &e2), DOC_OK);
		ASSERT_STR_EQ(b.markdown, a.markdown);
		ASSERT_STR_EQ(b.title, a.title);
		ASSERT_STR_EQ(b.author, a.author);
		ASSERT_INT_EQ(b.format, a.format);
		ASSERT_INT_EQ(b.npages, a.npages);
		for (size_t p = 0; p < a.npages && p < b.npages; p++)
			ASSERT_INT_EQ(b.page_start[p], a.page_start[p]);
		doc_text_free(&a);
		doc_text_free(&b);
		free(e1);
		free(e2);
		free(data);
	}
}

TEST(sniffing_by_content)
{
	struct {
		const char *name;
		enum doc_format f;
	} cases[] = {{"sample.docx", DOC_FORMAT_DOCX}, {"sample.odt", DOC_FORMAT_ODT},
	             {"sample.pptx", DOC_FORMAT_PPTX}, {"sample.odp", DOC_FORMAT_ODP},
	             {"sample.epub", DOC_FORMAT_EPUB}, {"manual.pdf", DOC_FORMAT_PDF},
	             {"sample.md", DOC_FORMAT_UNKNOWN}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		char *data = fixture(cases[i].name, &len);
		ASSERT_TRUE(data != NULL);
		if (data)
			ASSERT_STR_EQ(doc_format_name(doc_sniff(data, len)), doc_format_name(cases[i].f));
		free(data);
	}
	/* a PDF header after some junk still counts; one past the first KiB does not */
	char junk[2048];
	memset(junk, ' ', sizeof(junk));
	memcpy(junk + 100, "%PDF-1.4", 8);
	ASSERT_INT_EQ(doc_sniff(junk, sizeof(junk)), DOC_FORMAT_PDF);
	memset(junk, ' ', sizeof(junk));
	memcpy(junk + 1500, "%PDF-1.4", 8);
	ASSERT_INT_EQ(doc_sniff(junk, sizeof(junk)), DOC_FORMAT_UNKNOWN);
	struct doc_text d;
	char *err = NULL;
	ASSERT_INT_EQ(doc_extract("just text", 9, NULL, &d, &err), DOC_UNSUPPORTED);
	ASSERT_STR_CONTAINS(err, "not a PDF, DOCX");
	free(err);
}

TEST(page_table_lookup)
{
	size_t starts[] = {0, 10, 10, 25};
	struct doc_text d = {.markdown = (char *)"", .page_start = starts, .npages = 4};
	ASSERT_INT_EQ(doc_page_at(&d, 0), 1);
	ASSERT_INT_EQ(doc_page_at(&d, 9), 1);
	ASSERT_INT_EQ(doc_page_at(&d, 10), 3); /* page 2 had no text: offset 10 is page 3's first byte */
	ASSERT_INT_EQ(doc_page_at(&d, 24), 3);
	ASSERT_INT_EQ(doc_page_at(&d, 25), 4);
	ASSERT_INT_EQ(doc_page_at(&d, 1000), 4);
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
