/* A set of URL strings (exact match), for de-duplicating what a crawl's discovery finds: constant time per
 * URL however many a hostile sitemap lists. */
#ifndef PGKB_URLSET_H
#define PGKB_URLSET_H

#include <stdbool.h>
#include <stddef.h>

struct urlset {
	char **slots; /* open addressing, linear probing; NULL: empty */
	size_t n, cap;
};

/* Adds a copy of url; returns false when it was there already. A zeroed struct is an empty set. */
bool urlset_add(struct urlset *s, const char *url);
bool urlset_has(const struct urlset *s, const char *url);
/* Frees the strings and the table; leaves an empty set. */
void urlset_free(struct urlset *s);

#endif
