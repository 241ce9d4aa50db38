/* libFuzzer target: zip containers (DOCX, PPTX, ODT, ODP, EPUB) through sniffing, bounded zip reading, the
 * XML readers and the EPUB chapters' HTML conversion, in process under small bounds. Every outcome must be a
 * status with a reason, or text that is clean UTF-8 with a page table inside it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/doc/doc.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* zips only: PDFs go to poppler, which is not what this target explores */
	if (size > (1u << 20) || size < 4 || memcmp(data, "PK\3\4", 4) != 0)
		return 0;
	struct doc_limits lim = {.max_entry_bytes = 1 << 20, .max_total_bytes = 4 << 20, .max_entries = 500,
	                         .max_pages = 50, .max_output_bytes = 1 << 20};
	struct doc_text d;
	char *err = NULL;
	enum doc_status st = doc_extract((const char *)data, size, &lim, &d, &err);
	if (st != DOC_OK) {
		CHECK(err && *err);
		check_string(err);
		CHECK(d.markdown == NULL);
		free(err);
		return 0;
	}
	CHECK(err == NULL);
	check_string(d.title);
	check_string(d.author);
	check_string(d.markdown);
	CHECK(strlen(d.markdown) == d.markdown_len);
	CHECK(d.markdown_len <= lim.max_output_bytes);
	CHECK(d.npages >= 1 && d.page_start[0] == 0);
	for (size_t p = 1; p < d.npages; p++)
		CHECK(d.page_start[p] >= d.page_start[p - 1] && d.page_start[p] <= d.markdown_len);
	CHECK(doc_page_at(&d, d.markdown_len) <= d.npages);
	doc_text_free(&d);
	return 0;
}
