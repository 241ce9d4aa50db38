/* The URLs a worker process knows its crawls already hold, so a page's links that every other page also
 * links to (navigation, footers) are not offered to pgkb.crawl_claim again and again. A cache only: the
 * database's unique (source_id, url) stays the truth, and a URL enters the cache only after the transaction
 * that claimed it (or found it claimed) committed. Entries are 64-bit hashes; a false "seen" needs a hash
 * collision between two URLs of one crawl (about 1 in 10^7 for a million-page crawl). */
#ifndef PGKB_CRAWL_SEEN_H
#define PGKB_CRAWL_SEEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint64_t crawl_seen_hash(const char *url);
bool crawl_seen_has(long long crawl_id, uint64_t hash);
void crawl_seen_add(long long crawl_id, const uint64_t *hashes, size_t n);
/* URLs being claimed by this process right now, so two pages in flight do not offer the same new link (the
 * second claim would only wait for the first to commit and then find it taken). pending_add returns false
 * when h is pending already; pending_done ends what pending_add began, whatever became of the claim (a failed
 * claim's page is fetched again and offers its links again). */
bool crawl_seen_pending_add(long long crawl_id, uint64_t hash);
void crawl_seen_pending_done(long long crawl_id, const uint64_t *hashes, size_t n);
/* The crawl takes no more URLs (max_pages reached, or it ended): every URL counts as seen. */
void crawl_seen_close(long long crawl_id);
/* Frees every set (worker shutdown). */
void crawl_seen_clear(void);

#endif
