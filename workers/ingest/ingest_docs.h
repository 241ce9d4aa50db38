/* Documents for the ingest worker (PDF, DOCX, PPTX, ODT, ODP, EPUB; lib/doc): their size bounds, the bounds of
 * the contained converter from the configuration, how a conversion that did not succeed reads as a document
 * status, and what the extraction adds to the page's metadata. Pure: no I/O, no loop. */
#ifndef PGKB_INGEST_DOCS_H
#define PGKB_INGEST_DOCS_H

#include <stdint.h>

#include "lib/cfg/cfg.h"
#include "lib/doc/doc.h"

/* The converter's bounds: ingest.max_pdf_bytes, max_office_bytes, max_document_pages, converter_cpu,
 * converter_memory, converter_timeout; lib/doc's defaults for the rest. */
void ingest_doc_limits(const struct cfg *cfg, struct doc_limits *out);

/* The size bound of a document of format f (ingest.max_pdf_bytes, or ingest.max_office_bytes for the zip
 * containers) and its key's name. */
int64_t ingest_doc_max_bytes(const struct cfg *cfg, enum doc_format f, const char **key);

/* The status a conversion that did not succeed ends its document with: "skipped" for what is no fault of the
 * file's reading (an encrypted PDF, a zip that is no document), "failed" for the rest (malformed, a bound,
 * the converter crashed or ran out of CPU, memory or time). */
const char *ingest_doc_status(enum doc_status s);

/* The reason stored with it: the converter's own words, which name the bound, prefixed by the format
 * ("PDF: ...") except for "encrypted PDF", which says it all. Heap. */
char *ingest_doc_reason(enum doc_format f, enum doc_status s, const char *reason);

/* What the extraction adds to archon_page_metadata.metadata, as a JSON object (heap): format, author, pages
 * and what they are (page, slide, chapter), truncated. */
char *ingest_doc_page_meta(const struct doc_text *d);

/* True when a document of format f is paged for its chunks' metadata (PDF pages, slides, EPUB chapters);
 * DOCX and ODT are one flow of text, with no page numbers to give. */
int ingest_doc_paged(enum doc_format f);

#endif
