/* Media classes and body bounds of fetched responses (see fetch_media.h). */
#include "workers/crawl/fetch_media.h"

#include <string.h>
#include <stdbool.h>

static struct {
	size_t text, pdf, office;
} caps = {10 * 1000 * 1000, 100 * 1000 * 1000, 100 * 1000 * 1000};

static bool one_of(const char *mt, const char *const *set)
{
	for (size_t i = 0; set[i]; i++)
		if (strcmp(mt, set[i]) == 0)
			return true;
	return false;
}

enum fetch_media fetch_media_class(const char *mt)
{
	static const char *const text[] = {"text/html", "application/xhtml+xml", "text/plain", "text/markdown",
	                                   "text/x-markdown", NULL};
	static const char *const pdf[] = {"application/pdf", "application/x-pdf", "application/acrobat", NULL};
	static const char *const office[] = {
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		"application/vnd.openxmlformats-officedocument.presentationml.presentation",
		"application/vnd.oasis.opendocument.text",
		"application/vnd.oasis.opendocument.presentation",
		"application/epub+zip",
		NULL};
	/* what servers send for a file they do not know the type of, or for any download */
	static const char *const generic[] = {"",
	                                      "application/octet-stream",
	                                      "binary/octet-stream",
	                                      "application/zip",
	                                      "application/x-zip-compressed",
	                                      "application/download",
	                                      "application/x-download",
	                                      "application/force-download",
	                                      NULL};
	if (one_of(mt, text))
		return FETCH_MEDIA_TEXT;
	if (one_of(mt, pdf))
		return FETCH_MEDIA_PDF;
	if (one_of(mt, office))
		return FETCH_MEDIA_OFFICE;
	if (one_of(mt, generic))
		return FETCH_MEDIA_GENERIC;
	return FETCH_MEDIA_OTHER;
}

void fetch_media_configure(const struct cfg *cfg)
{
	caps.text = (size_t)cfg->fetch_max_bytes;
	caps.pdf = (size_t)cfg->max_pdf_bytes;
	caps.office = (size_t)cfg->max_office_bytes;
}

static size_t max2(size_t a, size_t b)
{
	return a > b ? a : b;
}

size_t fetch_media_max_cap(void)
{
	return max2(caps.text, max2(caps.pdf, caps.office));
}

/* The lower-cased media type of a Content-Type into out. */
static void media_of(const char *ct, char *out, size_t cap)
{
	size_t n = 0;
	if (ct) {
		while (*ct == ' ')
			ct++;
		for (; ct[n] && ct[n] != ';' && ct[n] != ' ' && n + 1 < cap; n++)
			out[n] = (char)(ct[n] >= 'A' && ct[n] <= 'Z' ? ct[n] + 32 : ct[n]);
	}
	out[n] = '\0';
}

size_t fetch_media_cap(const char *content_type)
{
	char mt[128];
	media_of(content_type, mt, sizeof mt);
	switch (fetch_media_class(mt)) {
	case FETCH_MEDIA_PDF: return caps.pdf;
	case FETCH_MEDIA_OFFICE: return caps.office;
	case FETCH_MEDIA_GENERIC: return max2(caps.pdf, caps.office);
	default: return caps.text;
	}
}

const char *fetch_media_cap_key(const char *content_type)
{
	char mt[128];
	media_of(content_type, mt, sizeof mt);
	switch (fetch_media_class(mt)) {
	case FETCH_MEDIA_PDF: return "ingest.max_pdf_bytes";
	case FETCH_MEDIA_OFFICE: return "ingest.max_office_bytes";
	case FETCH_MEDIA_GENERIC: return "ingest.max_pdf_bytes or ingest.max_office_bytes";
	default: return "crawl.max_bytes";
	}
}
