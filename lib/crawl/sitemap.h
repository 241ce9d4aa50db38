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
	bool truncated;                /* more than SITEMAP_MAX_URLS entries; the rest were dropped */
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
 * and canonicalised; non-http(s) and malformed URLs are skipped. Whether a URL is on an allowed host is the
 * caller's call. <lastmod> is a W3C datetime (YYYY, YYYY-MM, YYYY-MM-DD, or with "Thh:mm[:ss[.f]]" and "Z" or
 * "+hh:mm").
 * Returns 0, or -1 with out->error set: input over SITEMAP_MAX_BYTES (compressed or not), corrupt or
 * truncated gzip, XML whose root is not a sitemap (an HTML error page, say), or XML too broken to reach its
 * root.
 */
int sitemap_parse(const void *data, size_t len, const char *base_url, struct sitemap *out);

/* Frees what sitemap_parse stored in sm and empties it; the struct itself is the caller's. */
void sitemap_free(struct sitemap *sm);

/* Parses a W3C datetime (see above) into UTC seconds; returns 0 when s is not one. */
time_t sitemap_parse_datetime(const char *s);

#endif
