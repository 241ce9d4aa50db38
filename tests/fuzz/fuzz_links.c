/* libFuzzer target: link extraction. The first byte picks the mode: bit 0 llms.txt instead of HTML, bit 1 a
 * Latin-1 charset, bit 2 a small link cap. For HTML the fast scanner's result must equal libxml2's
 * (links_from_html_parsed) on every input: the scanner gives up where the two could differ. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/crawl/links.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_wellformed(const struct links *l, size_t max)
{
	if (max && l->n > max)
		abort();
	for (size_t i = 0; i < l->n; i++) {
		const char *u = l->urls[i];
		if (!u || strncmp(u, "http", 4) != 0 || strchr(u, '#') || strchr(u, ' '))
			abort();
	}
}

static void check_same(const struct links *a, const struct links *b)
{
	if (a->n != b->n || a->noindex != b->noindex || a->nofollow != b->nofollow || a->truncated != b->truncated ||
	    a->skipped_nofollow != b->skipped_nofollow)
		abort();
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->urls[i], b->urls[i]) != 0)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	const char *s = (const char *)data + 1;
	size--;
	size_t max = (mode & 4) ? 3 : 0;
	const char *charset = (mode & 2) ? "ISO-8859-1" : NULL;
	const char *page = "https://example.com/docs/page.html";
	struct links l;
	if (mode & 1) {
		if (links_from_llms_txt(s, size, "https://example.com/docs/llms.txt", max, &l) != 0)
			abort();
		check_wellformed(&l, max);
		links_free(&l);
		return 0;
	}
	struct links ref;
	if (links_from_html(s, size, page, charset, max, &l) != 0 ||
	    links_from_html_parsed(s, size, page, charset, max, &ref) != 0)
		abort();
	check_wellformed(&l, max);
	check_same(&l, &ref);
	links_free(&l);
	links_free(&ref);
	return 0;
}
