/* libFuzzer target: document conversion of arbitrary bytes, then chunking and code extraction of it. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/text/chunk.h"
#include "lib/text/codeblock.h"
#include "lib/text/html.h"
#include "lib/text/textstats.h"
#include "lib/text/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) \
	do { \
		if (!(c)) \
			abort(); \
	} while (0)

static void check_string(const char *s)
{
	CHECK(s && utf8_is_clean(s, strlen(s)));
}

/* True when s has a line longer than min code points holding a run of 3 or more '`' or '~': the only
 * lines a chunk may exceed its size for (no piece of them is cut off where it would read as a fence). */
static bool has_fence_run(const char *s, size_t min)
{
	for (const char *p = s; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		bool run = false;
		for (size_t k = 0; k + 2 < n && !run; k++)
			run = (p[k] == '`' || p[k] == '~') && p[k + 1] == p[k] && p[k + 2] == p[k];
		if (run && textstats_chars(p, n) > min)
			return true;
		p = nl ? nl + 1 : NULL;
	}
	return false;
}

static void check_pipeline(const struct html_doc *d)
{
	check_string(d->title);
	check_string(d->description);
	check_string(d->markdown);
	CHECK(strlen(d->markdown) == d->markdown_len);
	struct chunk_opts o = {200, 40, d->title};
	struct chunk_list l = CHUNK_LIST_INIT;
	CHECK(chunk_text(d->markdown, d->markdown_len, &o, &l) == (int)l.n);
	for (size_t i = 0; i < l.n; i++) {
		check_string(l.items[i].content);
		check_string(l.items[i].heading_path);
		CHECK(l.items[i].content[0] != '\0');
		CHECK(l.items[i].chars <= 200 || has_fence_run(l.items[i].content, 50));
		CHECK(i == 0 || l.items[i].offset > l.items[i - 1].offset);
	}
	chunk_list_free(&l);
	struct codeblock_opts co = {10, 0, 50};
	struct codeblock_list cb = CODEBLOCK_LIST_INIT;
	codeblock_extract(d->markdown, d->markdown_len, &co, &cb);
	for (size_t i = 0; i < cb.n; i++) {
		check_string(cb.items[i].code);
		check_string(cb.items[i].language);
		check_string(cb.items[i].context_before);
		check_string(cb.items[i].context_after);
	}
	codeblock_list_free(&cb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1u << 20))
		return 0;
	for (int pass = 0; pass < 2; pass++) {
		struct html_doc d;
		char *err = NULL;
		enum html_format fmt = pass ? HTML_FORMAT_HTML : HTML_FORMAT_AUTO;
		if (html_doc_convert((const char *)data, size, fmt, NULL, &d, &err) == 0) {
			CHECK(err == NULL);
			bool was_html = d.format == HTML_FORMAT_HTML;
			check_pipeline(&d);
			html_doc_free(&d);
			if (was_html)
				break; /* the second pass would repeat the first */
		} else {
			CHECK(err && *err);
			free(err);
			break;
		}
	}
	return 0;
}
