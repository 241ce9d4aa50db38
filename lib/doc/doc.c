/* The entry point: bounds, sniffing and dispatch to a format reader, and the result's helpers. */
#include "lib/doc/doc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/doc/doc_int.h"
#include "lib/text/kbdoc.h"
#include "lib/text/utf8.h"
#include "lib/util/mem.h"

#define MIB ((size_t)1 << 20)

void doc_limits_default(struct doc_limits *l)
{
	if (!l->max_pdf_bytes)
		l->max_pdf_bytes = 100 * MIB;
	if (!l->max_zip_bytes)
		l->max_zip_bytes = 100 * MIB;
	if (!l->max_pages)
		l->max_pages = 5000;
	if (!l->max_entries)
		l->max_entries = 10000;
	if (!l->max_entry_bytes)
		l->max_entry_bytes = 64 * MIB;
	if (!l->max_total_bytes)
		l->max_total_bytes = 256 * MIB;
	if (!l->max_output_bytes)
		l->max_output_bytes = 32 * MIB;
	if (!l->max_xml_depth)
		l->max_xml_depth = 256;
	if (!l->cpu_seconds)
		l->cpu_seconds = 60;
	if (!l->memory_bytes)
		l->memory_bytes = 2048 * MIB;
	if (!l->timeout_ms)
		l->timeout_ms = 120000;
}

enum doc_status doc_fail(char **err, enum doc_status st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	*err = s ? s : xstrdup("error");
	return st;
}

static enum doc_status read_zip(const char *data, size_t len, const struct doc_limits *lim, struct doc_text *out,
                                char **err)
{
	if (len > lim->max_zip_bytes)
		return doc_fail(err, DOC_TOO_LARGE, "document is %zu bytes (limit %zu)", len, lim->max_zip_bytes);
	enum doc_status st;
	struct doczip *z = doczip_open(data, len, lim, &st, err);
	if (!z)
		return st;
	enum doc_format f = doc_sniff_zip(z);
	out->format = f;
	switch (f) {
	case DOC_FORMAT_DOCX:
		st = doc_read_docx(z, lim, out, err);
		break;
	case DOC_FORMAT_PPTX:
		st = doc_read_pptx(z, lim, out, err);
		break;
	case DOC_FORMAT_ODT:
	case DOC_FORMAT_ODP:
		st = doc_read_odf(z, lim, out, err);
		break;
	case DOC_FORMAT_EPUB:
		st = doc_read_epub(z, lim, out, err);
		break;
	default:
		st = doc_fail(err, DOC_UNSUPPORTED, "zip archive that is not DOCX, PPTX, ODT, ODP or EPUB");
	}
	doczip_close(z);
	return st;
}

/* Every string of a result is valid UTF-8 and never NULL, whatever a reader left. */
static void settle(struct doc_text *out)
{
	char **strs[] = {&out->title, &out->author};
	for (size_t i = 0; i < 2; i++) {
		char *s = *strs[i] ? *strs[i] : xstrdup("");
		*strs[i] = utf8_clean_dup(s, strlen(s));
		free(s);
	}
	if (!out->markdown) {
		out->markdown = xstrdup("");
		out->markdown_len = 0;
	}
	if (out->npages == 0) {
		free(out->page_start);
		out->page_start = xcalloc(1, sizeof(size_t));
		out->npages = 1;
	}
}

enum doc_status doc_extract(const char *data, size_t len, const struct doc_limits *lim_in, struct doc_text *out,
                            char **err)
{
	struct doc_limits lim = lim_in ? *lim_in : (struct doc_limits){0};
	doc_limits_default(&lim);
	memset(out, 0, sizeof(*out));
	*err = NULL;
	enum doc_status st;
	/* a zip first: one that stores a PDF early holds "%PDF-" in its first KiB too */
	if (len >= 4 && memcmp(data, "PK\3\4", 4) == 0) {
		st = read_zip(data, len, &lim, out, err);
	} else if (doc_sniff(data, len < 1024 ? len : 1024) == DOC_FORMAT_PDF) {
		out->format = DOC_FORMAT_PDF;
		st = len > lim.max_pdf_bytes
		             ? doc_fail(err, DOC_TOO_LARGE, "PDF is %zu bytes (limit %zu)", len, lim.max_pdf_bytes)
		             : doc_read_pdf(data, len, &lim, out, err);
	} else {
		st = doc_fail(err, DOC_UNSUPPORTED, "not a PDF, DOCX, PPTX, ODT, ODP or EPUB document");
	}
	if (st != DOC_OK) {
		doc_text_free(out);
		if (!*err)
			*err = xstrdup(doc_status_name(st));
		return st;
	}
	settle(out);
	return DOC_OK;
}

size_t doc_page_at(const struct doc_text *doc, size_t off)
{
	struct kbdoc_pages pages = {doc->page_start, doc->npages, NULL}; /* the chunker's page lookup, the same rule */
	return kbdoc_page_at(&pages, off);
}

const char *doc_format_name(enum doc_format f)
{
	static const char *const names[] = {"unknown", "pdf", "docx", "pptx", "odt", "odp", "epub"};
	return (unsigned)f < sizeof(names) / sizeof(names[0]) ? names[f] : "unknown";
}

const char *doc_status_name(enum doc_status s)
{
	static const char *const names[] = {"ok", "unsupported", "malformed", "encrypted", "too large", "failed"};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "failed";
}

void doc_text_free(struct doc_text *doc)
{
	free(doc->title);
	free(doc->author);
	free(doc->markdown);
	free(doc->page_start);
	enum doc_format f = doc->format;
	memset(doc, 0, sizeof(*doc));
	doc->format = f;
}
