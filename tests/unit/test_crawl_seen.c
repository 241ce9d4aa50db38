/* Unit tests: the per-process cache of URLs each crawl holds (workers/crawl/crawl_seen.c). */
#include <stdio.h>

#include "workers/crawl/crawl_seen.h"
#include "testlib.h"

TEST(seen_urls_are_remembered_per_crawl)
{
	crawl_seen_clear();
	uint64_t a = crawl_seen_hash("https://example.com/a"), b = crawl_seen_hash("https://example.com/b");
	ASSERT_TRUE(a != b);
	ASSERT_TRUE(a == crawl_seen_hash("https://example.com/a"));
	ASSERT_TRUE(!crawl_seen_has(1, a));
	crawl_seen_add(1, &a, 1);
	ASSERT_TRUE(crawl_seen_has(1, a));
	ASSERT_TRUE(!crawl_seen_has(1, b));
	ASSERT_TRUE(!crawl_seen_has(2, a)); /* another crawl holds nothing yet */
	crawl_seen_clear();
	ASSERT_TRUE(!crawl_seen_has(1, a));
}

TEST(a_set_grows_without_losing_entries)
{
	crawl_seen_clear();
	enum { N = 100000 };
	static uint64_t h[N];
	char url[64];
	for (int i = 0; i < N; i++) {
		snprintf(url, sizeof url, "https://example.com/page/%d", i);
		h[i] = crawl_seen_hash(url);
	}
	for (int i = 0; i < N; i += 1000)
		crawl_seen_add(7, h + i, 1000);
	crawl_seen_add(7, h, 10); /* again: no duplicates, no harm */
	for (int i = 0; i < N; i++)
		ASSERT_TRUE(crawl_seen_has(7, h[i]));
	snprintf(url, sizeof url, "https://example.com/page/%d", N);
	ASSERT_TRUE(!crawl_seen_has(7, crawl_seen_hash(url)));
	crawl_seen_clear();
}

TEST(a_closed_crawl_counts_every_url_as_seen)
{
	crawl_seen_clear();
	uint64_t a = crawl_seen_hash("https://example.com/a");
	crawl_seen_close(3);
	ASSERT_TRUE(crawl_seen_has(3, a));
	ASSERT_TRUE(!crawl_seen_has(4, a));
	crawl_seen_clear();
}

TEST(the_least_recently_used_crawl_is_dropped)
{
	crawl_seen_clear();
	uint64_t a = crawl_seen_hash("https://example.com/a");
	for (long long c = 1; c <= 16; c++)
		crawl_seen_add(c, &a, 1);
	ASSERT_TRUE(crawl_seen_has(1, a)); /* touches crawl 1: crawl 2 is now the oldest */
	crawl_seen_add(17, &a, 1);
	ASSERT_TRUE(crawl_seen_has(1, a));
	ASSERT_TRUE(!crawl_seen_has(2, a));
	ASSERT_TRUE(crawl_seen_has(17, a));
	crawl_seen_clear();
}

TEST(pending_claims_are_exclusive_until_done)
{
	crawl_seen_clear();
	enum { N = 5000 };
	static uint64_t h[N];
	char url[64];
	for (int i = 0; i < N; i++) {
		snprintf(url, sizeof url, "https://example.com/p/%d", i);
		h[i] = crawl_seen_hash(url);
		ASSERT_TRUE(crawl_seen_pending_add(9, h[i]));
	}
	for (int i = 0; i < N; i++)
		ASSERT_TRUE(!crawl_seen_pending_add(9, h[i])); /* another page may not offer them meanwhile */
	ASSERT_TRUE(crawl_seen_pending_add(8, h[0]));      /* per crawl */
	/* end every other one: those can be offered again, the rest stay pending (deletion keeps probe chains) */
	for (int i = 0; i < N; i += 2)
		crawl_seen_pending_done(9, &h[i], 1);
	for (int i = 0; i < N; i++) {
		bool added = crawl_seen_pending_add(9, h[i]);
		ASSERT_TRUE(added == (i % 2 == 0));
	}
	crawl_seen_pending_done(9, h, N);
	for (int i = 0; i < N; i++)
		ASSERT_TRUE(crawl_seen_pending_add(9, h[i]));
	crawl_seen_pending_done(77, h, N); /* a crawl with nothing pending: no effect */
	crawl_seen_clear();
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
