/* libFuzzer target: the XML readers of lib/doc on one part each, without the zip around them: the first byte
 * picks a DOCX body, a PPTX slide, an ODF content.xml, a metadata part or a relationships part; the rest is
 * the XML. The Markdown they build must stay clean UTF-8 within the output bound. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/doc/doc_int.h"
#include "lib/doc/docmd.h"
#include "lib/doc/ooxml_rels.h"
#include "lib/text/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) \
	do { \
		if (!(c)) \
			abort(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > (1u << 20))
		return 0;
	struct doc_limits lim = {.max_output_bytes = 1 << 20, .max_pages = 50};
	doc_limits_default(&lim);
	const char *xml = (const char *)data + 1;
	size_t len = size - 1;
	struct docmd m;
	docmd_init(&m, lim.max_output_bytes);
	char *err = NULL, *title = NULL, *author = NULL;
	enum doc_status st = DOC_OK;
	switch (data[0] % 5) {
	case 0:
		st = docx_body_xml(xml, len, &lim, &m, &err);
		break;
	case 1:
		st = pptx_slide_xml(xml, len, 1, &lim, &m, &title, &err);
		break;
	case 2:
		st = odf_content_xml(xml, len, &lim, &m, &err);
		break;
	case 3:
		doc_meta_xml(xml, len, &lim, &title, &author);
		break;
	default:
		free(ooxml_rel_target(xml, len, &lim, NULL, "/officeDocument", "word/"));
		break;
	}
	if (st != DOC_OK)
		CHECK(err && *err);
	if (title)
		CHECK(utf8_is_clean(title, strlen(title)));
	if (author)
		CHECK(utf8_is_clean(author, strlen(author)));
	struct doc_text d = {0};
	docmd_finish(&m, &d);
	CHECK(utf8_is_clean(d.markdown, d.markdown_len) && d.markdown_len <= lim.max_output_bytes);
	CHECK(d.npages >= 1 && d.page_start[0] == 0);
	doc_text_free(&d);
	free(err);
	free(title);
	free(author);
	return 0;
}
