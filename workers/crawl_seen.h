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
/* The crawl takes no more URLs (max_pages reached, or it ended): every URL counts as seen. */
void crawl_seen_close(long long crawl_id);
/* Frees every set (worker shutdown). */
void crawl_seen_clear(void);

#endif
