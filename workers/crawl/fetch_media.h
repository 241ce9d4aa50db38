/* What a fetched response is by its media type, and the body bound each kind is fetched within: text pages
 * (HTML, Markdown, text) within crawl.max_bytes, documents (PDF; DOCX, PPTX, ODT, ODP, EPUB) within their own,
 * larger bounds (ingest.max_pdf_bytes, ingest.max_office_bytes), and generic types (application/octet-stream,
 * a zip, none at all) within the largest document bound, since only their content tells. */
#ifndef PGKB_FETCH_MEDIA_H
#define PGKB_FETCH_MEDIA_H

#include <stddef.h>

#include "lib/cfg/cfg.h"

enum fetch_media {
	FETCH_MEDIA_OTHER,   /* images, archives, ...: skipped as an unsupported content type */
	FETCH_MEDIA_TEXT,    /* HTML, XHTML, Markdown, plain text */
	FETCH_MEDIA_PDF,     /* application/pdf */
	FETCH_MEDIA_OFFICE,  /* the OOXML, ODF and EPUB types */
	FETCH_MEDIA_GENERIC, /* application/octet-stream, application/zip, none: a document if its content says so */
};

/* The class of a lower-cased media type without parameters ("application/pdf"; "" when there was none). */
enum fetch_media fetch_media_class(const char *mt);

/* Takes the bounds from the configuration (once per process, before the first fetch). */
void fetch_media_configure(const struct cfg *cfg);
/* The largest body any type may have: the cap an announced Content-Length is refused at. */
size_t fetch_media_max_cap(void);
/* The body cap of a response with this Content-Type (NULL: none), and the key that sets it (may be NULL). */
size_t fetch_media_cap(const char *content_type);
const char *fetch_media_cap_key(const char *content_type);

#endif
