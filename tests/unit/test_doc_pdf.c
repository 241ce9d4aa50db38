/* Unit tests: PDF text through poppler (a groff-made manual, r-doc-pdf's manuals when installed), the page
 * table, the outline as headings, and the text cleanup on synthetic pages (running headers and footers,
 * page numbers, hyphenation, wrapped lines). */
#include "testlib.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/doc/doc.h"
#include "lib/doc/docconv.h"
#include "lib/doc/docmd.h"
#include "lib/doc/pdftext.h"
#include "lib/text/chunk.h"
#include "lib/util/buf.h"
#include "lib/util/mem.h"

#define R_MANUALS "/usr/share/R/doc/manual"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
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

static char *fixture(const char *name, size_t *len)
{
	const char *env = getenv("PGKB_TEST_DATA"), *slash = strrchr(__FILE__, '/');
	int dirlen = slash ? (int)(slash - __FILE__) : 1;
	char *path = env ? xasprintf("%s/docs/%s", env, name)
	                 : xasprintf("%.*s/../data/docs/%s", dirlen, slash ? __FILE__ : ".", name);
	char *data = slurp(path, len);
	free(path);
	return data;
}

static size_t offset_of(const struct doc_text *d, const char *needle)
{
	const char *p = strstr(d->markdown, needle);
	ASSERT_TRUE(p != NULL);
	return p ? (size_t)(p - d->markdown) : 0;
}

/* Lines of md that are nothing but digits. */
static int bare_number_lines(const char *md)
{
	int n = 0;
	for (const char *p = md; *p;) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		size_t digits = strspn(p, "0123456789");
		n += len > 0 && digits == len;
		p = e ? e + 1 : p + len;
	}
	return n;
}

TEST(manual_pdf_outline_pages_metadata)
{
	size_t len;
	char *data = fixture("manual.pdf", &len);
	ASSERT_TRUE(data != NULL);
	struct doc_text d = {0};
	char *err = NULL;
	ASSERT_INT_EQ(docconv_run(data, len, NULL, &d, &err), DOC_OK);
	free(data);
	if (!d.markdown) {
		free(err);
		return;
	}
	ASSERT_INT_EQ(d.format, DOC_FORMAT_PDF);
	ASSERT_STR_EQ(d.title, "Widget Operations Manual");
	ASSERT_STR_EQ(d.author, "Grace Builder");
	ASSERT_INT_EQ(d.npages, 5);
	ASSERT_TRUE(!d.truncated);
	/* the outline, as headings at their place in the text */
	ASSERT_STR_CONTAINS(d.markdown, "# Overview\n\n## Purpose\n\nParagraph 1. The widget controller");
	ASSERT_STR_CONTAINS(d.markdown, "\n\n## Environment variables\n\nParagraph 10.");
	ASSERT_STR_CONTAINS(d.markdown, "\n\n# Troubleshooting\n\n## Logs\n\nParagraph 19.");
	size_t ops = offset_of(&d, "# Operation"), para13 = offset_of(&d, "Paragraph 13.");
	ASSERT_TRUE(ops < para13);
	/* pdftotext puts "Operation" and the configuration example on page 3 */
	ASSERT_INT_EQ(doc_page_at(&d, ops), 3);
	ASSERT_INT_EQ(doc_page_at(&d, offset_of(&d, "widget --config /etc/widget.conf")), 3);
	ASSERT_INT_EQ(doc_page_at(&d, offset_of(&d, "# Overview")), 1);
	/* the running header of pages 2 to 5 and the page numbers are gone */
	ASSERT_TRUE(strstr(d.markdown, "Widget Operations Manual") == NULL);
	ASSERT_INT_EQ(bare_number_lines(d.markdown), 0);
	for (size_t p = 1; p < d.npages; p++)
		ASSERT_TRUE(d.page_start[p] > d.page_start[p - 1]);
	doc_text_free(&d);
	free(err);
}

TEST(chunks_map_to_page_ranges)
{
	size_t len;
	char *data = fixture("manual.pdf", &len);
	struct doc_text d = {0};
	char *err = NULL;
	ASSERT_INT_EQ(doc_extract(data, len, NULL, &d, &err), DOC_OK);
	free(data);
	free(err);
	struct chunk_opts o = {4000, 0, d.title}; /* larger than a page: some chunks span two */
	struct chunk_list l = CHUNK_LIST_INIT;
	chunk_text(d.markdown, d.markdown_len, &o, &l);
	ASSERT_TRUE(l.n >= 2);
	size_t spanning = 0, last_first = 1;
	for (size_t i = 0; i < l.n; i++) {
		size_t first = doc_page_at(&d, l.items[i].offset), last = doc_page_at(&d, l.items[i].end - 1);
		ASSERT_TRUE(first >= 1 && first <= last && last <= d.npages);
		ASSERT_TRUE(first >= last_first); /* chunks go forward through the pages */
		last_first = first;
		spanning += last > first;
	}
	ASSERT_TRUE(spanning >= 1);
	chunk_list_free(&l);
	doc_text_free(&d);
}

TEST(encrypted_pdf_is_a_clear_status)
{
	size_t len;
	char *data = fixture("hostile/encrypted.pdf", &len);
	ASSERT_TRUE(data != NULL);
	struct doc_text d;
	char *err = NULL;
	ASSERT_INT_EQ(docconv_run(data, len, NULL, &d, &err), DOC_ENCRYPTED);
	ASSERT_STR_EQ(err, "encrypted PDF");
	ASSERT_TRUE(d.markdown == NULL);
	free(err);
	free(data);
}

TEST(max_pages_truncates)
{
	size_t len;
	char *data = fixture("manual.pdf", &len);
	struct doc_limits lim = {.max_pages = 2};
	struct doc_text d = {0};
	char *err = NULL;
	ASSERT_INT_EQ(doc_extract(data, len, &lim, &d, &err), DOC_OK);
	ASSERT_INT_EQ(d.npages, 2);
	ASSERT_TRUE(d.truncated);
	ASSERT_STR_CONTAINS(d.markdown, "# Configuration");
	ASSERT_TRUE(strstr(d.markdown, "# Operation") == NULL);
	doc_text_free(&d);
	struct doc_limits small = {.max_output_bytes = 3000};
	ASSERT_INT_EQ(doc_extract(data, len, &small, &d, &err), DOC_OK);
	ASSERT_TRUE(d.truncated);
	ASSERT_TRUE(d.markdown_len <= 3000);
	doc_text_free(&d);
	free(data);
}

TEST(truncated_and_damaged_pdfs_fail_cleanly)
{
	size_t len;
	char *data = fixture("manual.pdf", &len);
	size_t cuts[] = {10, len / 4, len / 2, len - 200};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		struct doc_text d = {0};
		char *err = NULL;
		enum doc_status st = docconv_run(data, cuts[i], NULL, &d, &err);
		/* poppler rebuilds a lost cross-reference table when it can: then some pages come back */
		ASSERT_TRUE(st == DOC_OK || st == DOC_MALFORMED);
		if (st != DOC_OK)
			ASSERT_STR_CONTAINS(err, "PDF");
		doc_text_free(&d);
		free(err);
	}
	free(data);
	data = fixture("hostile/garbage.pdf", &len);
	struct doc_text d;
	char *err = NULL;
	ASSERT_INT_EQ(docconv_run(data, len, NULL, &d, &err), DOC_MALFORMED);
	ASSERT_STR_CONTAINS(err, "unreadable PDF");
	free(err);
	free(data);
}

/* ---- text cleanup on synthetic pages ------------------------------------------------------- */

static struct doc_text write_pages(char **pages, size_t n, const struct pdf_outline *ol, size_t nol)
{
	struct docmd m;
	docmd_init(&m, 1 << 20);
	pdftext_write(pages, n, ol, nol, &m);
	struct doc_text d = {0};
	docmd_finish(&m, &d);
	return d;
}

TEST(running_headers_footers_and_page_numbers_are_dropped)
{
	char *pages[4];
	for (int i = 0; i < 4; i++)
		pages[i] = xasprintf("ACME Widget Guide  Chapter %d\nBody text of the %s page.\n- %d -\n", i + 1,
		                     (const char *[]){"first", "second", "third", "fourth"}[i], i + 1);
	struct doc_text d = write_pages(pages, 4, NULL, 0);
	ASSERT_STR_EQ(d.markdown, "Body text of the first page.\n\nBody text of the second page.\n\n"
	                          "Body text of the third page.\n\nBody text of the fourth page.");
	ASSERT_INT_EQ(d.npages, 4);
	ASSERT_INT_EQ(doc_page_at(&d, offset_of(&d, "third")), 3);
	doc_text_free(&d);
	for (int i = 0; i < 4; i++)
		free(pages[i]);
	/* a line repeated inside two pages is text; as the first line of both it is a running header */
	char *two[] = {"A\nSame line here\nB", "C\nSame line here\nD", "Other\nE"};
	d = write_pages(two, 3, NULL, 0);
	ASSERT_STR_EQ(d.markdown, "A\nSame line here\nB\n\nC\nSame line here\nD\n\nOther\nE");
	doc_text_free(&d);
	char *top[] = {"Chapter 3: Objects\nA\nB\nC", "Chapter 3: Objects\nD\nE\nF"};
	d = write_pages(top, 2, NULL, 0);
	ASSERT_STR_EQ(d.markdown, "A\nB\nC\n\nD\nE\nF");
	doc_text_free(&d);
}

TEST(hyphenation_and_wrapped_lines_are_joined)
{
	char *pages[] = {"The configuration of the widget controller is stored in a docu-\n"
	                 "ment that the installer writes once and the operator may edit later.\n"
	                 "Short line one\n"
	                 "Short line two\n"
	                 "A well-known tool keeps its hyphen when the next line starts with a capital letter-\n"
	                 "Like this one.\n"
	                 "# not a heading"};
	struct doc_text d = write_pages(pages, 1, NULL, 0);
	ASSERT_STR_EQ(d.markdown, "The configuration of the widget controller is stored in a document that the "
	                          "installer writes once and the operator may edit later.\nShort line one\n"
	                          "Short line two\nA well-known tool keeps its hyphen when the next line starts "
	                          "with a capital letter- Like this one.\n\\# not a heading");
	doc_text_free(&d);
}

TEST(outline_entries_become_headings_where_their_title_is)
{
	char *pages[] = {"Preface text.\n2.1 Getting started\nFirst steps.", "No title here.\nMore."};
	struct pdf_outline ol[] = {{(char *)"Getting started", 2, 0}, {(char *)"Appendix", 1, 1}};
	struct doc_text d = write_pages(pages, 2, ol, 2);
	/* the matched line is replaced by the heading; an unmatched one opens its page */
	ASSERT_STR_EQ(d.markdown, "Preface text.\n\n## Getting started\n\nFirst steps.\n\n# Appendix\n\nNo title here.\nMore.");
	ASSERT_INT_EQ(doc_page_at(&d, offset_of(&d, "# Appendix")), 2);
	doc_text_free(&d);
	char *first = pdftext_first_line(pages, 2);
	ASSERT_STR_EQ(first, "Preface text.");
	free(first);
}

/* ---- real manuals (Debian's r-doc-pdf), when installed ------------------------------------- */

TEST(r_manuals_when_installed)
{
	if (access(R_MANUALS "/R-intro.pdf", R_OK) != 0) {
		printf("  skipped: r-doc-pdf is not installed\n");
		return;
	}
	size_t len;
	char *data = slurp(R_MANUALS "/R-intro.pdf", &len);
	struct doc_text d = {0};
	char *err = NULL;
	clock_t t0 = clock();
	ASSERT_INT_EQ(docconv_run(data, len, NULL, &d, &err), DOC_OK);
	free(data);
	if (!d.markdown) {
		free(err);
		return;
	}
	ASSERT_STR_EQ(d.title, "An Introduction to R");
	ASSERT_TRUE(d.npages > 100);
	ASSERT_STR_CONTAINS(d.markdown, "\n# 1 Introduction and preliminaries\n");
	ASSERT_STR_CONTAINS(d.markdown, "\n## The R environment\n");
	ASSERT_STR_CONTAINS(d.markdown, "> x <- c(10.4, 5.6, 3.1, 6.4, 21.7)");
	/* running headers ("Chapter 2: Simple manipulations; numbers and vectors") are gone; the chapter's
	 * heading from the outline stays */
	ASSERT_TRUE(strstr(d.markdown, "\nChapter 2: Simple manipulations") == NULL);
	ASSERT_TRUE(strstr(d.markdown, "\nChapter 3: Objects, their modes") == NULL);
	ASSERT_STR_CONTAINS(d.markdown, "\n# 3 Objects, their modes and attributes\n");
	size_t env = offset_of(&d, "## The R environment");
	size_t page = doc_page_at(&d, env);
	ASSERT_TRUE(page >= 5 && page <= 15); /* the body starts after the contents pages */
	printf("  R-intro.pdf: %zu pages, %zu bytes of text, %.2f s CPU in the parent\n", d.npages, d.markdown_len,
	       (double)(clock() - t0) / CLOCKS_PER_SEC);
	doc_text_free(&d);
	free(err);
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
