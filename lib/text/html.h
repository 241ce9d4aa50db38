/* Document conversion for the ingest worker: HTML, Markdown or plain text in, Markdown-like text out. */
#ifndef PGKB_HTML_H
#define PGKB_HTML_H

#include <stdbool.h>
#include <stddef.h>

enum html_format {
	HTML_FORMAT_AUTO = 0, /* sniff the content */
	HTML_FORMAT_HTML,
	HTML_FORMAT_MARKDOWN,
	HTML_FORMAT_TEXT,
};

/* A converted document. All strings are heap-owned, valid UTF-8 without NUL bytes, and never NULL. */
struct html_doc {
	char *title;         /* <title>, else the first <h1>; Markdown: front matter title or the first
	                      * "# " heading; text: the first line when short; "" when none */
	char *description;   /* <meta name=description>, else og:description; "" when none */
	char *markdown;      /* the text; "" for an empty document (the caller skips it) */
	size_t markdown_len; /* strlen(markdown) */
	enum html_format format; /* what the input was read as */
	/* > 0: the HTML nests deeper than the parser goes (libxml2 stops at 256 elements, a bound on hostile
	 * input), so the text up to that point is kept and the rest is lost; this is the depth it stopped at */
	int depth_limit;
};

/* Converts the HTML html[0..len) to Markdown-like text: headings (#..######), nested lists, pipe tables,
 * fenced code blocks with their language, `inline code`; link and emphasis markup is reduced to its text.
 * Scripts, styles, forms, embedded objects and page furniture (nav, page-level header/footer, ARIA
 * navigation/banner/contentinfo, and classes/ids naming nav, navbar, navheader, navfooter, sidebar,
 * breadcrumb(s), cookie(s), menu) are dropped. Input is read as UTF-8 unless a byte order mark or a
 * <meta> charset says otherwise; invalid bytes become U+FFFD.
 *
 * Returns 0 and fills *out (free it with html_doc_free). A document without text (0 bytes, blanks, or markup
 * only) is not an error: it returns 0 with markdown "". Returns -1 for binary content (NUL bytes or many
 * control bytes in the first 8 KiB: a PNG, a PDF, random bytes) with *err set to a heap string such as
 * "not a text document (binary content)" (the caller frees it); *out is then zeroed. err may be NULL. */
int html_to_markdown(const char *html, size_t len, struct html_doc *out, char **err);

/* Like html_to_markdown for any format. fmt HTML_FORMAT_AUTO sniffs the content (see html_guess_format).
 * Markdown passes through (line endings normalised, UTF-8 repaired); plain text too, with lines that would
 * read as Markdown headings or fences escaped by a backslash. charset (may be NULL), e.g. from an HTTP
 * Content-Type, overrides a <meta> charset; unknown names fall back to UTF-8. Same results as above. */
int html_doc_convert(const char *data, size_t len, enum html_format fmt, const char *charset,
                     struct html_doc *out, char **err);

/* Guesses the format from a Content-Type (may be NULL), a file name or URL path (may be NULL), then the
 * first bytes of the content. Never returns HTML_FORMAT_AUTO. */
enum html_format html_guess_format(const char *content_type, const char *name, const char *data, size_t len);

/* True when data looks binary: a NUL byte (outside a UTF-16 text with a byte order mark) or more than 1 in
 * 16 control bytes in the first 8 KiB, or a PDF/compressed-archive signature. */
bool html_is_binary(const char *data, size_t len);

/* Frees the strings of doc and zeroes it; safe on a zeroed or already freed doc. */
void html_doc_free(struct html_doc *doc);

#endif
