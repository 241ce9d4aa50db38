/* Unit tests: page ranges in chunk metadata (kbdoc_build_markdown with a page table, as lib/doc gives it). */
#include "lib/text/kbdoc.h"
#include "testlib.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/buf.h"

/* Three pages of numbered sentences; page_start receives where each page begins. */
static char *three_pages(size_t page_start[3])
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "# Manual\n\n");
	for (int p = 0; p < 3; p++) {
		page_start[p] = p == 0 ? 0 : b.len;
		for (int i = 0; i < 12; i++)
			buf_printf(&b, "Page %d sentence %02d says something. ", p + 1, i);
		buf_printf(&b, "\n\n");
	}
	return buf_steal(&b);
}

static size_t page_of(const size_t *start, size_t n, size_t off)
{
	size_t p = 1;
	for (size_t i = 1; i < n; i++)
		if (start[i] <= off)
			p = i + 1;
	return p;
}

/* Every chunk's page_start and page_end are the pages holding the first and last byte of its own text, and
 * page_url links to the first; the Markdown is kept byte for byte, so the offsets are the extractor's. */
TEST(chunks_carry_the_pages_their_text_spans)
{
	size_t start[3];
	char *md = three_pages(start);
	struct kbdoc_opts o = {120, 30, 1000, 0};
	struct kbdoc_pages pages = {start, 3, "https://example.com/m.pdf"};
	struct kbdoc doc;
	char *err = NULL;
	ASSERT_INT_EQ(kbdoc_build_markdown(md, strlen(md), "Manual", "", "https://example.com/m.pdf", "s", "m.pdf", &o,
	                                   &pages, &doc, &err),
	              0);
	ASSERT_STR_EQ(doc.markdown, md);
	ASSERT_STR_EQ(doc.title, "Manual");
	json_t *rows = json_loads(doc.chunks_json, 0, NULL);
	ASSERT_TRUE(json_array_size(rows) >= 10);
	size_t spanning = 0, last_start = 0;
	for (size_t i = 0; i < json_array_size(rows); i++) {
		json_t *m = json_object_get(json_array_get(rows, i), "metadata");
		const char *content = json_string_value(json_object_get(json_array_get(rows, i), "content"));
		size_t off = (size_t)json_integer_value(json_object_get(m, "start_index"));
		size_t ps = (size_t)json_integer_value(json_object_get(m, "page_start"));
		size_t pe = (size_t)json_integer_value(json_object_get(m, "page_end"));
		ASSERT_INT_EQ(ps, page_of(start, 3, off));
		ASSERT_TRUE(pe >= ps && pe <= 3);
		ASSERT_TRUE(ps >= last_start);
		last_start = ps;
		spanning += pe > ps;
		/* the last sentence of the chunk names the page it is on: page_end covers it */
		const char *lastp = NULL;
		for (const char *q = content; (q = strstr(q, "Page ")); q++)
			lastp = q;
		if (lastp)
			ASSERT_TRUE((size_t)(lastp[5] - '0') <= pe);
		char want[64];
		snprintf(want, sizeof want, "https://example.com/m.pdf#page=%zu", ps);
		ASSERT_STR_EQ(json_string_value(json_object_get(m, "page_url")), want);
	}
	ASSERT_TRUE(last_start == 3);
	(void)spanning; /* chunks may or may not straddle a page break, depending on where paragraphs split */
	json_decref(rows);
	kbdoc_free(&doc);
	free(md);
}

/* Without a URL there is no page_url; without a page table no page keys at all. */
TEST(page_keys_only_for_paged_documents)
{
	size_t start[3];
	char *md = three_pages(start);
	struct kbdoc_opts o = {120, 30, 1000, 0};
	struct kbdoc_pages slides = {start, 3, NULL};
	struct kbdoc doc;
	char *err = NULL;
	ASSERT_INT_EQ(kbdoc_build_markdown(md, strlen(md), "", NULL, "u", "s", "fallback", &o, &slides, &doc, &err), 0);
	ASSERT_STR_EQ(doc.title, "fallback");
	ASSERT_STR_CONTAINS(doc.chunks_json, "\"page_start\"");
	ASSERT_TRUE(strstr(doc.chunks_json, "page_url") == NULL);
	kbdoc_free(&doc);
	ASSERT_INT_EQ(kbdoc_build_markdown(md, strlen(md), "", NULL, "u", "s", "fallback", &o, NULL, &doc, &err), 0);
	ASSERT_TRUE(strstr(doc.chunks_json, "page_start") == NULL);
	kbdoc_free(&doc);
	free(md);
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
