/* A document made ready for the knowledge base: converted text, page metadata, chunks and code examples,
 * with the chunk and code rows as the JSON arrays pgkb.ingest_document() takes. Pure: no I/O. */
#ifndef PGKB_KBDOC_H
#define PGKB_KBDOC_H

#include <stddef.h>

#include "lib/util/hash.h"

/* The pages of a paged document (PDF pages, slides, EPUB chapters; see lib/doc/doc.h): each chunk's metadata
 * gets page_start and page_end (1-based) from the pages its text [offset, end) spans. */
struct kbdoc_pages {
	const size_t *start; /* n byte offsets into the Markdown where each page starts, ascending, start[0] == 0 */
	size_t n;
	const char *url;     /* non-NULL: also page_url, url + "#page=" + page_start (the PDF open parameter) */
};

struct kbdoc_opts {
	int chunk_size;      /* code points */
	int chunk_overlap;   /* code points */
	int code_min_length; /* code points: shorter blocks are not code examples */
	int embed_dim;       /* > 0: also embed every row with the builtin embedder (embed_builtin) at this dimension */
};

struct kbdoc {
	char *title;       /* never NULL */
	char *description; /* never NULL */
	char *markdown;    /* never NULL; "" for an empty document */
	size_t markdown_len;
	int depth_limit; /* > 0: HTML nested deeper than its parser goes; text after this depth is lost (html.h) */
	int words, chars;
	int nchunks, ncodes;
	char *chunks_json; /* [{"n","hash","content","metadata"}…] */
	char *codes_json;  /* [{"n","hash","content","summary","metadata"}…] */
	/* With opts.embed_dim: the rows' vectors in row order, nchunks (ncodes) times embed_dim floats, NULL when
	 * there are no rows. A chunk embeds its content; a code example its code, a blank line and its summary, the
	 * text the embed worker embeds for it. NULL without opts.embed_dim. */
	float *chunk_vectors;
	float *code_vectors;
};

/* Converts data[0..len) (HTML, Markdown or text: guessed from content_type, name and the bytes; charset from
 * content_type) and splits it. url and source_id go into each row's metadata; fallback_title names a document
 * without a title. Returns 0 (an empty document gives markdown "" and no rows), or -1 with *err set to a heap
 * message for input that is not a text document. */
int kbdoc_build(const char *data, size_t len, const char *content_type, const char *name, const char *url,
                const char *source_id, const char *fallback_title, const struct kbdoc_opts *opts,
                struct kbdoc *out, char **err);
/* The 1-based page holding byte offset off: that of the last start <= off (1 when there are no pages). */
size_t kbdoc_page_at(const struct kbdoc_pages *pages, size_t off);

/* As kbdoc_build for text already converted to Markdown (lib/doc's extraction): md[0..len) must be valid UTF-8
 * without NUL bytes, and is split as it is, so the offsets in pages stay valid. pages may be NULL (not a paged
 * document). title "" or NULL: fallback_title. */
int kbdoc_build_markdown(const char *md, size_t len, const char *title, const char *description, const char *url,
                         const char *source_id, const char *fallback_title, const struct kbdoc_opts *opts,
                         const struct kbdoc_pages *pages, struct kbdoc *out, char **err);
void kbdoc_free(struct kbdoc *doc);
/* The charset parameter of a Content-Type ("text/html; charset=iso-8859-1" → "iso-8859-1"), as a heap string,
 * or NULL. */
char *kbdoc_charset(const char *content_type);

#endif
