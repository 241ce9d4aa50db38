/* Per-crawl sets of URL hashes (open addressing, linear probing), for the few crawls a worker serves at
 * once: the least recently used set is dropped beyond SEEN_CRAWLS_MAX, and a set stops growing at
 * SEEN_ENTRIES_MAX (links past that are simply offered to the database again). */
#include "workers/crawl/crawl_seen.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util/mem.h"

#define SEEN_CRAWLS_MAX 16
#define SEEN_ENTRIES_MAX (1u << 22)

struct seen_set {
	long long crawl_id;
	bool closed;
	uint64_t *slots; /* 0 = empty (a URL hashing to 0 is stored as 1) */
	size_t cap, n;
	uint64_t *pending; /* the same, for claims in flight; entries are removed (backward-shift deletion) */
	size_t pcap, pn;
	unsigned long long used; /* LRU clock */
};

static struct seen_set sets[SEEN_CRAWLS_MAX];
static unsigned long long clock_now;

uint64_t crawl_seen_hash(const char *url)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then a splitmix64 finaliser */
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h ? h : 1;
}

static void set_reset(struct seen_set *s, long long crawl_id)
{
	free(s->slots);
	free(s->pending);
	*s = (struct seen_set){.crawl_id = crawl_id};
}

static struct seen_set *set_find(long long crawl_id, bool create)
{
	struct seen_set *oldest = &sets[0];
	for (int i = 0; i < SEEN_CRAWLS_MAX; i++) {
		if (sets[i].crawl_id == crawl_id && crawl_id != 0) {
			sets[i].used = ++clock_now;
			return &sets[i];
		}
		if (sets[i].used < oldest->used)
			oldest = &sets[i];
	}
	if (!create)
		return NULL;
	set_reset(oldest, crawl_id);
	oldest->used = ++clock_now;
	return oldest;
}

static bool slots_insert(uint64_t *slots, size_t cap, uint64_t h)
{
	for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1)) {
		if (slots[i] == h)
			return false;
		if (slots[i] == 0) {
			slots[i] = h;
			return true;
		}
	}
}

/* Doubles the table *slots of *cap entries (first size: first), rehashing what it holds. */
static void slots_grow(uint64_t **slots, size_t *cap, size_t first)
{
	size_t ncap = *cap ? *cap * 2 : first;
	uint64_t *n = xcalloc(ncap, sizeof *n);
	for (size_t i = 0; i < *cap; i++)
		if ((*slots)[i])
			slots_insert(n, ncap, (*slots)[i]);
	free(*slots);
	*slots = n;
	*cap = ncap;
}

bool crawl_seen_has(long long crawl_id, uint64_t h)
{
	struct seen_set *s = set_find(crawl_id, false);
	if (!s)
		return false;
	if (s->closed)
		return true;
	for (size_t i = s->cap ? h & (s->cap - 1) : 0; s->cap; i = (i + 1) & (s->cap - 1)) {
		if (s->slots[i] == h)
			return true;
		if (s->slots[i] == 0)
			return false;
	}
	return false;
}

void crawl_seen_add(long long crawl_id, const uint64_t *hashes, size_t n)
{
	struct seen_set *s = set_find(crawl_id, true);
	for (size_t i = 0; i < n && s->n < SEEN_ENTRIES_MAX; i++) {
		if ((s->n + 1) * 4 > s->cap * 3) /* keep the load under 3/4 */
			slots_grow(&s->slots, &s->cap, 1024);
		if (slots_insert(s->slots, s->cap, hashes[i]))
			s->n++;
	}
}

bool crawl_seen_pending_add(long long crawl_id, uint64_t h)
{
	struct seen_set *s = set_find(crawl_id, true);
	if ((s->pn + 1) * 2 > s->pcap) /* keep the load under 1/2 */
		slots_grow(&s->pending, &s->pcap, 256);
	if (!slots_insert(s->pending, s->pcap, h))
		return false;
	s->pn++;
	return true;
}

static void pending_remove(struct seen_set *s, uint64_t h)
{
	size_t mask = s->pcap - 1, i = h & mask;
	while (s->pending[i] != h) {
		if (s->pending[i] == 0)
			return;
		i = (i + 1) & mask;
	}
	s->pending[i] = 0;
	s->pn--;
	/* shift back the entries after it that probed past i */
	for (size_t j = (i + 1) & mask; s->pending[j]; j = (j + 1) & mask) {
		size_t home = s->pending[j] & mask;
		bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
		if (movable) {
			s->pending[i] = s->pending[j];
			s->pending[j] = 0;
			i = j;
		}
	}
}

void crawl_seen_pending_done(long long crawl_id, const uint64_t *hashes, size_t n)
{
	struct seen_set *s = set_find(crawl_id, false);
	for (size_t i = 0; s && s->pcap && i < n; i++)
		pending_remove(s, hashes[i]);
}

void crawl_seen_close(long long crawl_id)
{
	struct seen_set *s = set_find(crawl_id, true);
	free(s->slots);
	s->slots = NULL;
	s->cap = s->n = 0;
	s->closed = true;
}

void crawl_seen_clear(void)
{
	for (int i = 0; i < SEEN_CRAWLS_MAX; i++)
		set_reset(&sets[i], 0);
	clock_now = 0;
}
