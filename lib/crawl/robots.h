/* robots.txt (RFC 9309): the rules of our group, Allow/Disallow matching, Crawl-delay and Sitemap lines. */
#ifndef PGKB_ROBOTS_H
#define PGKB_ROBOTS_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes of a robots.txt that are parsed (RFC 9309 §2.5: at least 500 KiB); the rest, and a line cut by this
 * limit, are ignored. The fetcher may stop downloading there. */
#define ROBOTS_MAX_BYTES (500 * 1024)
/* Sitemap: lines kept; later ones are ignored. */
#define ROBOTS_MAX_SITEMAPS 1000

struct robots;

/*
 * Parses a robots.txt body for the crawler whose product token is user_agent_token ("pgkb"; a full User-Agent
 * such as "pgkb/1.0 (+https://...)" is cut to its leading token of letters, '_' and '-'). Never fails;
 * returns a new object to free with robots_free().
 *
 * Groups: one or more User-agent lines followed by rules; a User-agent line after a rule starts a new group;
 * blank lines and comments do not end a group; rules before the first User-agent line are ignored. A group
 * applies when one of its User-agent values (cut the same way) equals our token ignoring case; all groups
 * that apply are merged. When none applies, the "*" groups are merged instead; when there is none of those
 * either, everything is allowed.
 * Lines: keys are case-insensitive ("useragent", "user agent" and "disalow" are accepted too); unknown keys
 * and lines without ':' are ignored; a UTF-8 byte-order mark is skipped.
 * Allow/Disallow: path patterns where '*' matches any run of octets and a final '$' anchors the end; an empty
 * value is ignored (so "Disallow:" allows all); a value not starting with '/' or '*' gets a leading '/'.
 * Crawl-delay (non-standard): seconds, possibly fractional, from the applying groups; the largest wins.
 * Sitemap: absolute http(s) URLs from anywhere in the file, canonicalised and de-duplicated, in file order.
 */
struct robots *robots_parse(const char *txt, size_t len, const char *user_agent_token);

/*
 * Returns the rules to use when robots.txt could not be fetched with a 2xx status, following RFC 9309 §2.3.1,
 * or NULL for a 2xx status (parse the body with robots_parse). The fetcher follows up to five redirects
 * itself first.
 *   3xx (more than five redirects)   "unavailable": allow everything
 *   4xx except 429                  "unavailable": allow everything
 *   429, 5xx, and 0 (network error: DNS, connect, TLS, timeout)   "unreachable": disallow everything
 * 429 is treated as unreachable (as major crawlers do) because a site asking us to slow down is not a site
 * that has no robots.txt. Unreachable is temporary: the fetcher should try again after a short while
 * (minutes) rather than cache the answer for the usual 24 hours (§2.4); if robots.txt stays unreachable for
 * more than 30 days it may fall back to its last good copy, or to allowing everything.
 */
struct robots *robots_for_status(int http_status);

/* True when path_and_query ("/a/b?c=d", as url_path_query() returns it) may be fetched. The longest matching
 * rule (in octets of its pattern) decides; Allow wins a tie; no match allows. "/robots.txt" itself is always
 * allowed. Both rule and path are normalised first (RFC 9309 §2.2.2): escapes of unreserved characters are
 * decoded ("%62%61%7A" is "baz"), other escapes get upper-case hex, and bytes outside printable ASCII are
 * percent-encoded (so a raw UTF-8 path matches a rule written with escapes); "%2A" and "%24" in a rule match
 * a literal '*' and '$' in the path (§2.2.3). A NULL robots allows everything; a NULL or empty path is
 * "/". */
bool robots_allowed(const struct robots *r, const char *path_and_query);

/* The Crawl-delay in seconds for our group, or -1 when it has none. The value is what the file says (capped
 * at one day); politeness limits are the caller's to apply. */
double robots_crawl_delay(const struct robots *r);

/* Points *out at the Sitemap URLs (owned by r, valid until robots_free) and returns their number. */
size_t robots_sitemaps(const struct robots *r, const char *const **out);

/* True for the "unreachable" answer of robots_for_status (disallow everything, retry soon). */
bool robots_unreachable(const struct robots *r);

/* The unreachable rules (as robots_for_status(0)) with the reason they stand for, a copy of reason ("HTTP 503
 * for 5 attempts over 5m"), which robots_reason returns: for a fetcher that has given up retrying. */
struct robots *robots_unreachable_because(const char *reason);
/* The reason given to robots_unreachable_because, else NULL. */
const char *robots_reason(const struct robots *r);

/* Frees r and everything it owns; NULL is a no-op. */
void robots_free(struct robots *r);

#endif
