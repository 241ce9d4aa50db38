/* Link extraction for the crawler: <a>/<area> hrefs of an HTML page, the Markdown links of an llms.txt. */
#ifndef PGKB_LINKS_H
#define PGKB_LINKS_H

#include <stdbool.h>
#include <stddef.h>

/* A sensible per-page cap for the max_links arguments below. */
#define LINKS_DEFAULT_MAX 10000

struct links {
	char **urls;             /* canonical http(s) URLs (url_canonical), deduplicated, in document order */
	size_t n;
	bool noindex;            /* <meta name="robots"> says noindex (or none): do not ingest this page */
	bool nofollow;           /* <meta name="robots"> says nofollow (or none): urls is then left empty */
	bool truncated;          /* more than max_links distinct links; the rest were dropped */
	size_t skipped_nofollow; /* links left out because of rel="nofollow" */
	size_t skipped_long;     /* links left out because they are longer than URL_STORE_MAX_LEN */
};

/*
 * Collects the links of an HTML page into *out (free with links_free, also after a failure).
 * Links are the href of <a> and <area>, resolved against the document's base URL (the first <base href>,
 * itself resolved against page_url, or else page_url), canonicalised (fragment dropped) and de-duplicated.
 * Left out: hrefs that are empty or only a fragment ("#top"); links back to the page itself; anything that is
 * not http(s) after resolution ("mailto:", "javascript:", "tel:", "data:"); links with rel="nofollow",
 * counted in skipped_nofollow; links longer than URL_STORE_MAX_LEN, counted in skipped_long. rel=nofollow marks links a site does not vouch for or does not want crawled
 * (sort and filter links, login and edit pages); a documentation crawl loses little by honouring it.
 * <meta name="robots" content="..."> is honoured: "noindex" or "none" sets noindex; "nofollow" or "none" sets
 * nofollow, and then no links are returned.
 * At most max_links links are kept (0 means LINKS_DEFAULT_MAX). charset (may be NULL), e.g. from the HTTP
 * Content-Type, names the page's encoding; without it a <meta> charset is honoured and UTF-8 assumed
 * otherwise. Tags are read by a fast scanner (tag_scan.h) where the page is in an ASCII-compatible encoding
 * and its tags keep to a strict grammar, and by libxml2's HTML parser (without network access) otherwise:
 * the scanner gives up on any page where the two could differ.
 * Returns 0 (a document libxml2 can make nothing of simply has no links), or -1 when page_url is not a valid
 * http(s) URL.
 */
int links_from_html(const char *html, size_t len, const char *page_url, const char *charset, size_t max_links,
                    struct links *out);
/* links_from_html with libxml2's parser for every page: the reference the fast scanner is tested against. */
int links_from_html_parsed(const char *html, size_t len, const char *page_url, const char *charset,
                           size_t max_links, struct links *out);

/*
 * Collects the link targets of an llms.txt (Markdown) into *out: the target of every [text](target), every
 * "[label]: target" reference definition and every <https://...> autolink, outside fenced code blocks and
 * inline code; images (![alt](src)) excluded. A target may be written <in angle brackets> and be followed by
 * a "title". Relative targets are resolved against base_url (the llms.txt's own URL; when NULL only absolute
 * targets count); results are canonicalised and de-duplicated as in links_from_html, at most max_links of
 * them (0 means LINKS_DEFAULT_MAX). The meta flags stay false. The scan is linear in len, whatever the input.
 * Returns 0, or -1 when base_url is given but is not a valid http(s) URL.
 */
int links_from_llms_txt(const char *txt, size_t len, const char *base_url, size_t max_links,
                        struct links *out);

/* Reads robots directives from a <meta name="robots"> content or an X-Robots-Tag header value ("noindex,
 * nofollow", "none", case-insensitive, separated by commas or spaces) and sets *noindex / *nofollow when
 * present (it never clears them, so several sources can be combined). */
void links_robots_directives(const char *content, bool *noindex, bool *nofollow);

/* Frees what l owns and zeroes it; safe on a zeroed struct. */
void links_free(struct links *l);

#endif
