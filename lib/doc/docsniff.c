/* Format sniffing by content: a PDF by its header, a zip container by the entries that name its type. */
#include <stdlib.h>
#include <string.h>

#include "lib/doc/doc_int.h"

#define PDF_MAGIC_WINDOW 1024 /* the PDF reference lets a header follow up to 1 KiB of junk */

static bool has_pdf_magic(const char *data, size_t len)
{
	size_t n = len < PDF_MAGIC_WINDOW ? len : PDF_MAGIC_WINDOW;
	return n >= 5 && memmem(data, n, "%PDF-", 5) != NULL;
}

/* ODF and EPUB: the mimetype entry (stored first, uncompressed, by both specs; read here wherever it is). */
static enum doc_format by_mimetype(const char *m, size_t n)
{
	while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == '\r' || m[n - 1] == ' '))
		n--;
	static const struct {
		const char *type;
		enum doc_format f;
	} types[] = {
		{"application/vnd.oasis.opendocument.text", DOC_FORMAT_ODT},
		{"application/vnd.oasis.opendocument.text-template", DOC_FORMAT_ODT},
		{"application/vnd.oasis.opendocument.presentation", DOC_FORMAT_ODP},
		{"application/vnd.oasis.opendocument.presentation-template", DOC_FORMAT_ODP},
		{"application/epub+zip", DOC_FORMAT_EPUB},
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strlen(types[i].type) == n && memcmp(types[i].type, m, n) == 0)
			return types[i].f;
	return DOC_FORMAT_UNKNOWN;
}

/* OOXML: the content type of the main part, declared in [Content_Types].xml (macro-enabled and template
 * variants share the reader). A plain substring test is enough: the names are long and distinctive. */
static enum doc_format by_content_types(const char *ct, size_t n)
{
	static const struct {
		const char *type;
		enum doc_format f;
	} types[] = {
		{"wordprocessingml.document.main+xml", DOC_FORMAT_DOCX},
		{"wordprocessingml.template.main+xml", DOC_FORMAT_DOCX},
		{"application/vnd.ms-word.document.macroEnabled.main+xml", DOC_FORMAT_DOCX},
		{"presentationml.presentation.main+xml", DOC_FORMAT_PPTX},
		{"presentationml.slideshow.main+xml", DOC_FORMAT_PPTX},
		{"application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml", DOC_FORMAT_PPTX},
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (memmem(ct, n, types[i].type, strlen(types[i].type)))
			return types[i].f;
	return DOC_FORMAT_UNKNOWN;
}

enum doc_format doc_sniff_zip(struct doczip *z)
{
	size_t n;
	char *m = doczip_read_head(z, "mimetype", 128, &n);
	enum doc_format f = m ? by_mimetype(m, n) : DOC_FORMAT_UNKNOWN;
	free(m);
	if (f != DOC_FORMAT_UNKNOWN)
		return f;
	char *ct = doczip_read_head(z, "[Content_Types].xml", 256 * 1024, &n);
	f = ct ? by_content_types(ct, n) : DOC_FORMAT_UNKNOWN;
	free(ct);
	return f;
}

enum doc_format doc_sniff(const char *data, size_t len)
{
	bool zip = len >= 4 && memcmp(data, "PK\3\4", 4) == 0;
	if (!zip) /* a zip may store a PDF early enough to show its header in the first KiB */
		return has_pdf_magic(data, len) ? DOC_FORMAT_PDF : DOC_FORMAT_UNKNOWN;
	struct doc_limits lim = {0};
	doc_limits_default(&lim);
	enum doc_status st;
	char *err = NULL;
	struct doczip *z = doczip_open(data, len, &lim, &st, &err);
	free(err);
	if (!z)
		return DOC_FORMAT_UNKNOWN;
	enum doc_format f = doc_sniff_zip(z);
	doczip_close(z);
	return f;
}
