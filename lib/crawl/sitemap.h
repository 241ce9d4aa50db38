/* Sitemap parsing: XML urlset and sitemapindex (streaming, no entities, no network), gzip, text lists. */
#ifndef PGKB_SITEMAP_H
#define PGKB_SITEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Limits from the sitemap protocol: at most 50 MB (52,428,800 bytes) uncompressed, 50,000 URLs per file. */
#define SITEMAP_MAX_BYTES (50u * 1024 * 1024)
#define SITEMAP_MAX_URLS 50000

struct sitemap_entry {
	char *url;      /* canonical http(s) URL (url_canonical) */
	time_t lastmod; /* <lastmod> as UTC seconds, 0 when absent or unparsable */
};

struct sitemap {
	bool is_index;                 /* a <sitemapindex>: the URLs are further sitemaps */
	bool truncated;                /* more than SITEMAP_MAX_URLS entries (or the reader's max_entries);
	                                * the rest were dropped */
	size_t skipped_long;           /* entries dropped for being longer than URL_STORE_MAX_LEN */
	const char *error;             /* static reason: set on failure, and also on success when an XML error
	                                * cut the file short (the entries before it are kept) */
	struct sitemap_entry *entries; /* in document order, duplicates removed */
	size_t n;
};

/*
 * Parses a sitemap body into *out (which the caller frees with sitemap_free, also after a failure).
 * Input that starts with the gzip magic bytes is inflated first, stopping with an error as soon as the
 * inflated size passes SITEMAP_MAX_BYTES (so a gzip bomb costs at most that much memory and time). Then,
 * after an optional BOM and whitespace, a body starting with '<' is XML, anything else a plain-text sitemap
 * (one absolute URL per line; other lines are skipped).
 * XML is read with libxml2's streaming reader: no DTD loading, no entity substitution (an entity reference,
 * external or internal, contributes nothing, so XXE and billion-laughs documents yield no URLs from their
 * entities), no network. Root <urlset>: the <loc> and <lastmod> of each <url>; root <sitemapindex>: those of
 * each <sitemap>. Element names are matched by local name, so namespace prefixes do not matter; extension
 * elements (image:loc ...) are skipped.
 * Each <loc> is resolved against base_url (the sitemap's own URL; may be NULL, then only absolute URLs count)
 * and canonicalised; non-http(s) and malformed URLs are skipped, and URLs longer than URL_STORE_MAX_LEN are
 * skipped and counted in skipped_long. Whether a URL is on an allowed host is the
 * caller's call. <lastmod> is a W3C datetime (YYYY, YYYY-MM, YYYY-MM-DD, or with "Thh:mm[:ss[.f]]" and "Z" or
 * "+hh:mm").
 * Returns 0, or -1 with out->error set: input over SITEMAP_MAX_BYTES (compressed or not), corrupt or
 * truncated gzip, XML whose root is not a sitemap (an HTML error page, say), or XML too broken to reach its
 * root.
 */
int sitemap_parse(const void *data, size_t len, const char *base_url, struct sitemap *out);

/*
 * The same parse in bounded steps, for an event loop: a sitemap of 50,000 entries, or a 50 MB gzip, must not
 * hold the loop for the whole file. sitemap_reader_new copies data and reads nothing yet; max_entries caps the
 * entries of this file (0 or more than SITEMAP_MAX_URLS: SITEMAP_MAX_URLS), the rest set truncated.
 * sitemap_reader_step empties *out, then does a bounded amount of work (at most 1 MB inflated, 20,000 XML nodes
 * or 1 MB of text lines) and puts at most max_out entries in out->entries; is_index, truncated, skipped_long and
 * error describe the file so far. Entries are not de-duplicated (the caller's set of seen URLs does that).
 * Returns 1 when there is more to read, 0 at the end, -1 when the file is not a sitemap (out->error says why;
 * entries given out before stay valid). Free the reader with sitemap_reader_free at any point, and *out with
 * sitemap_free.
 */
struct sitemap_reader;
struct sitemap_reader *sitemap_reader_new(const void *data, size_t len, const char *base_url, size_t max_entries);
int sitemap_reader_step(struct sitemap_reader *r, size_t max_out, struct sitemap *out);
void sitemap_reader_free(struct sitemap_reader *r);

/* Frees what sitemap_parse stored in sm and empties it; the struct itself is the caller's. */
void sitemap_free(struct sitemap *sm);

/* Parses a W3C datetime (see above) into UTC seconds; returns 0 when s is not one. */
time_t sitemap_parse_datetime(const char *s);

#endif
