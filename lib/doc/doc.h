/* Text extraction from office documents (PDF, DOCX, PPTX, ODT, ODP, EPUB) into the same Markdown-like text
 * the HTML path produces (lib/text/html.h), with a table of page start offsets so a chunker can say which
 * pages a chunk spans. doc_extract runs in the calling process: call it through lib/doc/docconv.h, which runs
 * it in a contained child, wherever a crash in poppler or libxml2 must not take the caller with it. */
#ifndef PGKB_DOC_H
#define PGKB_DOC_H

#include <stdbool.h>
#include <stddef.h>

enum doc_format {
	DOC_FORMAT_UNKNOWN = 0, /* none of the formats below (the caller may try lib/text/html.h) */
	DOC_FORMAT_PDF,
	DOC_FORMAT_DOCX,
	DOC_FORMAT_PPTX,
	DOC_FORMAT_ODT,
	DOC_FORMAT_ODP,
	DOC_FORMAT_EPUB,
};

/* Every outcome of an extraction; anything but DOC_OK comes with a readable reason. */
enum doc_status {
	DOC_OK = 0,
	DOC_UNSUPPORTED, /* not a format this library reads (or a zip that is none of them) */
	DOC_MALFORMED,   /* truncated or corrupt file, or XML that is not well formed or has a DTD */
	DOC_ENCRYPTED,   /* password-protected: "encrypted PDF", an encrypted zip entry */
	DOC_TOO_LARGE,   /* a bound in struct doc_limits was exceeded (input, entries, expansion, depth) */
	DOC_FAILED,      /* the contained converter crashed, ran out of CPU time, memory or wall-clock time */
};

/* Bounds on one extraction. A field left 0 takes its default (doc_limits_default); the defaults are sized
 * for manuals and books: a 2,000-page PDF or a 100 MiB DOCX with images converts within them. */
struct doc_limits {
	size_t max_pdf_bytes;    /* input size for a PDF (default 100 MiB) */
	size_t max_zip_bytes;    /* input size for a zip container: DOCX, PPTX, ODT, ODP, EPUB (default 100 MiB) */
	size_t max_pages;        /* PDF pages, slides or EPUB chapters converted; the rest are dropped and the
	                          * result is marked truncated (default 5000) */
	size_t max_entries;      /* entries in a zip's central directory (default 10000) */
	size_t max_entry_bytes;  /* uncompressed size of one zip entry that is read, declared and actual
	                          * (default 64 MiB) */
	size_t max_total_bytes;  /* uncompressed bytes read from one zip in all (default 256 MiB) */
	size_t max_output_bytes; /* text produced; the rest is dropped and the result marked truncated
	                          * (default 32 MiB) */
	size_t max_xml_depth;    /* element nesting in one XML part (default 256) */
	int cpu_seconds;         /* RLIMIT_CPU of the converter child (default 60) */
	size_t memory_bytes;     /* RLIMIT_AS of the converter child (default 2 GiB) */
	int timeout_ms;          /* wall-clock limit of the converter child (default 120000) */
};

/* The extracted text. All strings are heap-owned, valid UTF-8 without NUL bytes, and never NULL. */
struct doc_text {
	enum doc_format format;
	char *title;         /* PDF info Title, else its first heading-like line; DOCX/PPTX/ODF/EPUB metadata
	                      * title, else the first heading or slide title; "" when none */
	char *author;        /* metadata author/creator; "" when none */
	char *markdown;      /* the text: "#" headings, "- "/"1. " lists, pipe tables, ``` fences */
	size_t markdown_len; /* strlen(markdown) */
	size_t *page_start;  /* npages byte offsets into markdown, ascending, page_start[0] == 0: where page
	                      * (PDF), slide (PPTX, ODP) or chapter (EPUB) i+1 starts; DOCX/ODT have 1 page */
	size_t npages;
	bool truncated;      /* max_pages or max_output_bytes cut the document short */
};

/* Fills l with the defaults for every field that is 0 in l (l may hold some caller choices). */
void doc_limits_default(struct doc_limits *l);

/* What data[0..len) is, by content (never by name): "%PDF-" in the first KiB; a zip told apart by its ODF or
 * EPUB "mimetype" entry or its OOXML "[Content_Types].xml" main part. Reads at most a few KiB of entries. */
enum doc_format doc_sniff(const char *data, size_t len);

/* Extracts the text of data[0..len) in this process. lim may be NULL (defaults; the CPU, memory and time
 * fields apply only to docconv). Returns DOC_OK and fills *out (free it with doc_text_free), or another
 * status with *err set to a heap reason (the caller frees it) and *out zeroed. */
enum doc_status doc_extract(const char *data, size_t len, const struct doc_limits *lim, struct doc_text *out,
                            char **err);

/* The 1-based page holding byte offset off of doc->markdown (1 when the document has no pages). A chunk
 * [offset, end) spans pages doc_page_at(offset) .. doc_page_at(end - 1). */
size_t doc_page_at(const struct doc_text *doc, size_t off);

/* "pdf", "docx", "pptx", "odt", "odp", "epub", "unknown". */
const char *doc_format_name(enum doc_format f);
/* "ok", "unsupported", "malformed", "encrypted", "too large", "failed". */
const char *doc_status_name(enum doc_status s);

/* Frees the strings and the page table of doc and zeroes it; safe on a zeroed or already freed doc. */
void doc_text_free(struct doc_text *doc);

#endif
