/* A string set with open addressing, kept at most half full (see urlset.h). */
#include "lib/crawl/urlset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/mem.h"

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then a mixer so the low bits are usable as the index */
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

/* The slot holding url, or the empty one where it belongs. */
static char **find(const struct urlset *s, const char *url)
{
	size_t mask = s->cap - 1, i = (size_t)str_hash(url) & mask;
	while (s->slots[i] && strcmp(s->slots[i], url) != 0)
		i = (i + 1) & mask;
	return &s->slots[i];
}

static void grow(struct urlset *s)
{
	char **old = s->slots;
	size_t oldcap = s->cap;
	s->cap = oldcap ? oldcap * 2 : 64;
	s->slots = xcalloc(s->cap, sizeof *s->slots);
	for (size_t i = 0; i < oldcap; i++)
		if (old[i])
			*find(s, old[i]) = old[i];
	free(old);
}

bool urlset_add(struct urlset *s, const char *url)
{
	if ((s->n + 1) * 2 > s->cap)
		grow(s);
	char **slot = find(s, url);
	if (*slot)
		return false;
	*slot = xstrdup(url);
	s->n++;
	return true;
}

bool urlset_has(const struct urlset *s, const char *url)
{
	return s->cap && *find(s, url) != NULL;
}

void urlset_free(struct urlset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slots[i]);
	free(s->slots);
	memset(s, 0, sizeof *s);
}
