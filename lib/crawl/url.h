/* URL canonicalisation and resolution for the crawler (http/https only), built on libcurl's CURLU API. */
#ifndef PGKB_URL_H
#define PGKB_URL_H

#include <stddef.h>

/* Longest URL accepted, input or output, in bytes; longer ones are crawler traps and are refused. */
#define URL_MAX_LEN 8192
/* Longest URL the crawler and ingest keep (canonical form, in bytes). A URL ends up in btree keys: pgkb.documents
 * (source_id, url) and Archon's archon_crawled_pages (url, chunk_number); a key over about 2,700 bytes (a third
 * of a page) cannot be indexed, and the insert fails. 2,048 is the sitemap protocol's limit for <loc>, the
 * longest URL common browsers and CDNs handle reliably, and leaves room for the rest of either key. Longer
 * links are skipped (and counted); a job whose own URL is longer fails. */
#define URL_STORE_MAX_LEN 2048
/* Length of url_source_id()'s result, without the NUL. */
#define URL_SOURCE_ID_LEN 16

/*
 * The canonical form of a URL, which every function here returns:
 *   - scheme is http or https (anything else is refused), scheme and host in lower case (a non-ASCII host
 *     is kept as UTF-8 with its ASCII letters lower-cased; libcurl converts it to punycode when it fetches);
 *   - the default port (80 for http, 443 for https) is dropped, any other port kept;
 *   - user name and password are dropped (credentials never reach the database);
 *   - the fragment is dropped; the query is kept as is (an empty "?" is dropped);
 *   - "." and ".." path segments are resolved, an empty path becomes "/";
 *   - in path and query, bytes a browser would escape (controls, space, '"', '<', '>', '`', '{', '}',
 *     non-ASCII; '\'' in the query) are percent-encoded; escapes of unreserved characters (letters, digits,
 *     "-._~") are decoded and the others get upper-case hex digits (RFC 3986 §6.2.2); a '%' that starts no
 *     escape is "%25".
 * Leading and trailing whitespace and control characters are stripped and tabs and newlines inside are
 * removed, as browsers do; a backslash before the query counts as '/'. Other control characters make the URL
 * malformed.
 */

/* Returns the canonical form of an absolute http(s) URL as a new heap string, or NULL when url is malformed,
 * relative, longer than URL_MAX_LEN or of another scheme. */
char *url_canonical(const char *url);

/* Resolves ref (an href: absolute, scheme-relative "//host/x", absolute-path, relative with ./ and ../, "?q"
 * or "#frag") against base, an absolute http(s) URL, per RFC 3986 §5.2, and returns the canonical result as a
 * new heap string. Returns NULL when base or the result is not a valid http(s) URL: "mailto:", "javascript:",
 * "data:", "ftp://" and malformed references all give NULL. An empty ref or a bare "#frag" gives the
 * canonical base. */
char *url_resolve(const char *base, const char *ref);
/* The same, for a base that is already canonical (url_canonical's or url_resolve's result): a ref that is one
 * path segment of unreserved characters ("page.html", "a-b_c~1.htm", optionally "#frag"), the most common
 * relative link, is resolved by string concatenation without libcurl. Same result as url_resolve. */
char *url_resolve_canonical(const char *canonical_base, const char *ref);

/* Returns the politeness key of url as a new heap string: the lower-case host, followed by ":port" when the
 * port is not the scheme's default ("example.com", "example.com:8443", "[::1]:8080"). Per-host politeness
 * (concurrency and delay) is kept per host:port because a different port is usually a different server;
 * robots.txt, in contrast, belongs to an origin (see url_origin). Returns NULL when url is not a valid
 * http(s) URL. */
char *url_host(const char *url);

/* Returns the origin of url as a new heap string: scheme "://" host [":" port], the port only when not the
 * default ("https://example.com:8443"). robots.txt is fetched from origin "/robots.txt". NULL when url is not
 * valid. */
char *url_origin(const char *url);

/* Returns the path and query of url ("/a/b?x=1", at least "/") as a new heap string: the string to hand to
 * robots_allowed(). NULL when url is not valid. */
char *url_path_query(const char *url);

/*
 * Returns the Archon-compatible source id of url as a new heap string of URL_SOURCE_ID_LEN lower-case hex
 * digits, or NULL when url is not a valid http(s) URL. Archon (generate_unique_source_id) hashes this string:
 *     scheme "://" host[:port] path ["?" query]
 * with scheme and host lower-cased, the default port dropped, no fragment, the path's ";params" (of its last
 * segment, which Python's urlparse splits off) dropped, its trailing '/'s removed unless the path is "/"
 * itself, and the query decoded into (name, value) pairs ('+' is a space), stripped of tracking parameters
 * (utm_source, utm_medium, utm_campaign, utm_term, utm_content, gclid, fbclid, ref, source), sorted and
 * re-encoded form-style (space as '+', all but A-Z a-z 0-9 "_.-~" escaped); the id is the first 16 hex
 * digits of the SHA-256 of that string. Here the rule is applied to url_canonical(url), so ids equal
 * Archon's for every URL that canonicalisation leaves alone (no dot segments, credentials or lower-case
 * escapes) and are more stable for the others.
 */
char *url_source_id(const char *url);

#endif
