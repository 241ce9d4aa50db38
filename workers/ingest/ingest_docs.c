/* Documents for the ingest worker: bounds, statuses and page metadata (see ingest_docs.h). */
#include "workers/ingest/ingest_docs.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/mem.h"

void ingest_doc_limits(const struct cfg *cfg, struct doc_limits *out)
{
	memset(out, 0, sizeof *out);
	out->max_pdf_bytes = (size_t)cfg->max_pdf_bytes;
	out->max_zip_bytes = (size_t)cfg->max_office_bytes;
	out->max_pages = (size_t)cfg->max_document_pages;
	out->cpu_seconds = (int)((cfg->converter_cpu_ms + 999) / 1000);
	out->memory_bytes = (size_t)cfg->converter_memory_bytes;
	out->timeout_ms = cfg->converter_timeout_ms > 0x7fffffff ? 0x7fffffff : (int)cfg->converter_timeout_ms;
	doc_limits_default(out);
}

int64_t ingest_doc_max_bytes(const struct cfg *cfg, enum doc_format f, const char **key)
{
	bool pdf = f == DOC_FORMAT_PDF; /* the rest, and a zip of no known format, are bounded as office documents */
	if (key)
		*key = pdf ? "ingest.max_pdf_bytes" : "ingest.max_office_bytes";
	return pdf ? cfg->max_pdf_bytes : cfg->max_office_bytes;
}

const char *ingest_doc_status(enum doc_status s)
{
	return s == DOC_ENCRYPTED || s == DOC_UNSUPPORTED ? "skipped" : "failed";
}

static const char *format_label(enum doc_format f)
{
	switch (f) {
	case DOC_FORMAT_PDF: return "PDF";
	case DOC_FORMAT_DOCX: return "DOCX";
	case DOC_FORMAT_PPTX: return "PPTX";
	case DOC_FORMAT_ODT: return "ODT";
	case DOC_FORMAT_ODP: return "ODP";
	case DOC_FORMAT_EPUB: return "EPUB";
	default: return "document";
	}
}

char *ingest_doc_reason(enum doc_format f, enum doc_status s, const char *reason)
{
	if (!reason || !*reason)
		reason = doc_status_name(s);
	if (strcmp(reason, "encrypted PDF") == 0)
		return xstrdup(reason);
	return xasprintf("%s: %s", format_label(f), reason);
}

int ingest_doc_paged(enum doc_format f)
{
	return f == DOC_FORMAT_PDF || f == DOC_FORMAT_PPTX || f == DOC_FORMAT_ODP || f == DOC_FORMAT_EPUB;
}

static const char *page_unit(enum doc_format f)
{
	return f == DOC_FORMAT_PDF ? "page" : f == DOC_FORMAT_EPUB ? "chapter" : "slide";
}

char *ingest_doc_page_meta(const struct doc_text *d)
{
	json_t *o = json_pack("{s:s, s:s, s:b}", "format", doc_format_name(d->format), "author", d->author,
	                      "truncated", d->truncated);
	if (ingest_doc_paged(d->format)) {
		json_object_set_new(o, "pages", json_integer((json_int_t)d->npages));
		json_object_set_new(o, "page_unit", json_string(page_unit(d->format)));
	}
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s ? s : xstrdup("{}");
}
