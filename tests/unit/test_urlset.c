/* Unit tests: the URL set that de-duplicates a crawl's discovery. */
#include "lib/crawl/urlset.h"
#include "testlib.h"

#include <stdio.h>

TEST(add_once_then_has)
{
	struct urlset s = {0};
	ASSERT_TRUE(!urlset_has(&s, "https://e.com/"));
	ASSERT_TRUE(urlset_add(&s, "https://e.com/"));
	ASSERT_TRUE(!urlset_add(&s, "https://e.com/"));
	ASSERT_TRUE(urlset_has(&s, "https://e.com/"));
	ASSERT_TRUE(!urlset_has(&s, "https://e.com/x"));
	urlset_free(&s);
	ASSERT_INT_EQ(s.n, 0);
	ASSERT_TRUE(urlset_add(&s, "https://e.com/")); /* usable again after free */
	urlset_free(&s);
}

/* 200,000 URLs, each offered twice: every first offer is new, every second a duplicate, through many
 * growths of the table. */
TEST(many_urls)
{
	struct urlset s = {0};
	char u[64];
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 200000; i++) {
			snprintf(u, sizeof u, "https://e.com/sm/%d.xml", i);
			ASSERT_TRUE(urlset_add(&s, u) == (round == 0));
		}
	ASSERT_INT_EQ(s.n, 200000);
	ASSERT_TRUE(s.cap >= 2 * s.n);
	urlset_free(&s);
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
