/* Unit tests: robots.txt groups, longest match, wildcards, encoding, Crawl-delay, Sitemap, status rules. */
#include "lib/crawl/robots.h"
#include "testlib.h"

#include <stdlib.h>

static struct robots *parse(const char *txt, const char *agent)
{
	return robots_parse(txt, strlen(txt), agent);
}

/* RFC 9309 §5.1. */
static const char RFC_SIMPLE[] = "User-Agent: *\n"
                                 "Disallow: *.gif$\n"
                                 "Disallow: /example/\n"
                                 "Allow: /publications/\n"
                                 "\n"
                                 "User-Agent: foobot\n"
                                 "Disallow:/\n"
                                 "Allow:/example/page.html\n"
                                 "Allow:/example/allowed.gif\n"
                                 "\n"
                                 "User-Agent: barbot\n"
                                 "User-Agent: bazbot\n"
                                 "Disallow: /example/page.html\n"
                                 "\n"
                                 "User-Agent: quxbot\n"
                                 "\n"
                                 "EOF\n";

TEST(rfc_simple_example_group_selection)
{
	struct robots *r = parse(RFC_SIMPLE, "foobot");
	ASSERT_TRUE(robots_allowed(r, "/example/page.html"));
	ASSERT_TRUE(robots_allowed(r, "/example/allowed.gif"));
	ASSERT_TRUE(!robots_allowed(r, "/example/other.html"));
	ASSERT_TRUE(!robots_allowed(r, "/"));
	ASSERT_TRUE(robots_allowed(r, "/robots.txt"));
	robots_free(r);

	r = parse(RFC_SIMPLE, "BazBot/2.1 (+https://example.org/bot)");
	ASSERT_TRUE(!robots_allowed(r, "/example/page.html"));
	ASSERT_TRUE(robots_allowed(r, "/example/x.gif")); /* the '*' group does not apply to bazbot */
	robots_free(r);

	r = parse(RFC_SIMPLE, "quxbot");
	ASSERT_TRUE(robots_allowed(r, "/example/page.html"));
	ASSERT_TRUE(robots_allowed(r, "/a.gif"));
	robots_free(r);

	r = parse(RFC_SIMPLE, "pgkb");
	ASSERT_TRUE(!robots_allowed(r, "/a/b.gif"));
	ASSERT_TRUE(robots_allowed(r, "/a/b.gif?x=1")); /* '$' anchors the end */
	ASSERT_TRUE(!robots_allowed(r, "/example/"));
	ASSERT_TRUE(robots_allowed(r, "/publications/x"));
	ASSERT_TRUE(robots_allowed(r, "/other"));
	robots_free(r);
}

/* RFC 9309 §5.2. */
TEST(rfc_longest_match)
{
	struct robots *r = parse("User-Agent: foobot\n"
	                         "Allow: /example/page/\n"
	                         "Disallow: /example/page/disallowed.gif\n",
	                         "foobot");
	ASSERT_TRUE(robots_allowed(r, "/example/page/"));
	ASSERT_TRUE(robots_allowed(r, "/example/page/allowed.gif"));
	ASSERT_TRUE(!robots_allowed(r, "/example/page/disallowed.gif"));
	ASSERT_TRUE(!robots_allowed(r, "/example/page/disallowed.gif?x"));
	robots_free(r);
}

TEST(allow_wins_a_tie_and_empty_disallow_allows)
{
	struct robots *r = parse("user-agent: *\ndisallow: /page\nallow: /page\n", "pgkb");
	ASSERT_TRUE(robots_allowed(r, "/page"));
	robots_free(r);
	r = parse("user-agent: *\ndisallow: /folder*\nallow: /folder$\nallow: /f*\n", "pgkb");
	ASSERT_TRUE(robots_allowed(r, "/folder"));    /* "/folder$", "/folder*": 8 octets each, Allow wins */
	ASSERT_TRUE(!robots_allowed(r, "/folder/x")); /* "/folder*" (8 octets) beats "/f*" (3) */
	robots_free(r);
	r = parse("User-agent: *\nDisallow:\n", "pgkb");
	ASSERT_TRUE(robots_allowed(r, "/anything"));
	robots_free(r);
	r = parse("User-agent: *\nDisallow: /\n", "pgkb");
	ASSERT_TRUE(!robots_allowed(r, "/anything"));
	ASSERT_TRUE(!robots_allowed(r, ""));
	ASSERT_TRUE(robots_allowed(r, "/robots.txt"));
	ASSERT_TRUE(robots_allowed(r, "/robots.txt?x=1"));
	ASSERT_TRUE(!robots_allowed(r, "/robots.txt.bak"));
	robots_free(r);
}

TEST(wildcards)
{
	struct robots *r = parse("User-agent: *\n"
	                         "Disallow: /*/private/\n"
	                         "Disallow: /*.php$\n"
	                         "Disallow: /search*q=\n"
	                         "Disallow: /exact$\n"
	                         "Disallow: /a*b*c*d*e*f*g*z\n",
	                         "pgkb");
	ASSERT_TRUE(!robots_allowed(r, "/x/private/y"));
	ASSERT_TRUE(!robots_allowed(r, "/x/y/private/"));
	ASSERT_TRUE(robots_allowed(r, "/private/"));
	ASSERT_TRUE(!robots_allowed(r, "/index.php"));
	ASSERT_TRUE(robots_allowed(r, "/index.php?x"));
	ASSERT_TRUE(robots_allowed(r, "/index.phps"));
	ASSERT_TRUE(!robots_allowed(r, "/search?lang=en&q=x"));
	ASSERT_TRUE(robots_allowed(r, "/search?lang=en"));
	ASSERT_TRUE(!robots_allowed(r, "/exact"));
	ASSERT_TRUE(robots_allowed(r, "/exactly"));
	char *long_path = malloc(100001);
	long_path[0] = '/';
	memset(long_path + 1, 'a', 99999);
	long_path[100000] = '\0';
	ASSERT_TRUE(robots_allowed(r, long_path)); /* no 'z': linear, no backtracking blow-up */
	free(long_path);
	robots_free(r);
}

TEST(groups_merge_and_blank_lines_do_not_end_them)
{
	struct robots *r = parse("user-agent: ExampleBot\n"
	                         "disallow: /foo\n"
	                         "\n"
	                         "disallow: /bar\n"
	                         "\n"
	                         "user-agent: other\n"
	                         "disallow: /other\n"
	                         "user-agent: EXAMPLEBOT/1.0\n"
	                         "disallow: /baz\n",
	                         "examplebot");
	ASSERT_TRUE(!robots_allowed(r, "/foo"));
	ASSERT_TRUE(!robots_allowed(r, "/bar"));
	ASSERT_TRUE(!robots_allowed(r, "/baz"));
	ASSERT_TRUE(robots_allowed(r, "/other"));
	robots_free(r);
}

TEST(rules_outside_groups_and_garbage_are_ignored)
{
	struct robots *r = parse("Disallow: /before-any-group\n"
	                         "<html><body>not robots</body></html>\n"
	                         "User-agent: *   # everyone\n"
	                         "Disalow: /typo # common misspelling\n"
	                         "Foo: bar\n"
	                         "Disallow /no-colon\n"
	                         "  DISALLOW  :  /spaced  \n",
	                         "pgkb");
	ASSERT_TRUE(robots_allowed(r, "/before-any-group"));
	ASSERT_TRUE(!robots_allowed(r, "/typo"));
	ASSERT_TRUE(robots_allowed(r, "/no-colon"));
	ASSERT_TRUE(!robots_allowed(r, "/spaced"));
	robots_free(r);

	r = parse("\xEF\xBB\xBFUser-agent: *\r\nDisallow: /bom\r\n", "pgkb");
	ASSERT_TRUE(!robots_allowed(r, "/bom"));
	robots_free(r);
	r = parse("User-agent: *\rDisallow: /cr\r", "pgkb");
	ASSERT_TRUE(!robots_allowed(r, "/cr"));
	robots_free(r);
}

TEST(percent_encoding_is_normalised)
{
	struct robots *r = parse("User-agent: *\n"
	                         "Disallow: /foo/bar/%E3%83%84\n"
	                         "Disallow: /caf\xC3\xA9\n"
	                         "Disallow: /foo/%62%61%7A\n"
	                         "Disallow: /lit%2Astar\n"
	                         "Disallow: /price%24\n"
	                         "Disallow: /sl%2fash\n",
	                         "pgkb");
	ASSERT_TRUE(!robots_allowed(r, "/foo/bar/\xE3\x83\x84"));
	ASSERT_TRUE(!robots_allowed(r, "/foo/bar/%e3%83%84"));
	ASSERT_TRUE(!robots_allowed(r, "/caf%C3%A9"));
	ASSERT_TRUE(!robots_allowed(r, "/foo/baz"));
	ASSERT_TRUE(!robots_allowed(r, "/foo/%62az"));
	ASSERT_TRUE(!robots_allowed(r, "/lit*star"));
	ASSERT_TRUE(robots_allowed(r, "/litXstar"));
	ASSERT_TRUE(!robots_allowed(r, "/price$"));
	ASSERT_TRUE(!robots_allowed(r, "/sl%2Fash"));
	ASSERT_TRUE(robots_allowed(r, "/sl/ash")); /* '/' is reserved: %2F is not decoded */
	robots_free(r);
}

TEST(crawl_delay_and_sitemaps)
{
	struct robots *r = parse("Sitemap: https://example.com/sitemap.xml\n"
	                         "User-agent: pgkb\n"
	                         "Crawl-delay: 2.5\n"
	                         "Disallow: /x\n"
	                         "sitemap: HTTPS://Example.com/sitemap.xml\n"
	                         "User-agent: *\n"
	                         "Crawl-delay: 10\n"
	                         "Sitemap: https://example.com/news.xml.gz\n"
	                         "Sitemap: /relative.xml\n"
	                         "Sitemap: ftp://example.com/s.xml\n",
	                         "pgkb");
	ASSERT_TRUE(robots_crawl_delay(r) > 2.49 && robots_crawl_delay(r) < 2.51);
	const char *const *maps = NULL;
	ASSERT_INT_EQ(robots_sitemaps(r, &maps), 2);
	ASSERT_STR_EQ(maps[0], "https://example.com/sitemap.xml");
	ASSERT_STR_EQ(maps[1], "https://example.com/news.xml.gz");
	robots_free(r);

	r = parse("User-agent: *\nCrawl-delay: 10\nCrawl-delay: 0.5\n", "other");
	ASSERT_TRUE(robots_crawl_delay(r) == 10.0);
	robots_free(r);
	r = parse("User-agent: *\nCrawl-delay: soon\nCrawl-delay: 99999999999\n", "x");
	ASSERT_TRUE(robots_crawl_delay(r) == 86400.0);
	robots_free(r);
	r = parse("User-agent: *\nDisallow: /\n", "x");
	ASSERT_TRUE(robots_crawl_delay(r) == -1);
	ASSERT_INT_EQ(robots_sitemaps(r, &maps), 0);
	robots_free(r);
}

TEST(size_limit_drops_the_rest_and_the_cut_line)
{
	size_t n = ROBOTS_MAX_BYTES + 4096;
	char *txt = malloc(n);
	const char head[] = "User-agent: *\nDisallow: /early\n";
	memcpy(txt, head, sizeof head - 1);
	memset(txt + sizeof head - 1, '\n', n - (sizeof head - 1));
	const char cut[] = "Disallow: /cutline-and-more";
	memcpy(txt + ROBOTS_MAX_BYTES - 16, cut, sizeof cut - 1); /* "Disallow: /cutli" fits */
	const char late[] = "Disallow: /late";
	memcpy(txt + n - 100, late, sizeof late - 1);
	struct robots *r = robots_parse(txt, n, "pgkb");
	ASSERT_TRUE(!robots_allowed(r, "/early"));
	ASSERT_TRUE(robots_allowed(r, "/cutline-and-more"));
	ASSERT_TRUE(robots_allowed(r, "/late"));
	robots_free(r);
	free(txt);
}

TEST(status_rules)
{
	ASSERT_TRUE(robots_for_status(200) == NULL);
	struct robots *r = robots_for_status(404);
	ASSERT_TRUE(robots_allowed(r, "/x"));
	ASSERT_TRUE(!robots_unreachable(r));
	robots_free(r);
	r = robots_for_status(503);
	ASSERT_TRUE(!robots_allowed(r, "/x"));
	ASSERT_TRUE(robots_allowed(r, "/robots.txt"));
	ASSERT_TRUE(robots_unreachable(r));
	robots_free(r);
	r = robots_for_status(429);
	ASSERT_TRUE(!robots_allowed(r, "/x"));
	robots_free(r);
	r = robots_for_status(0);
	ASSERT_TRUE(robots_unreachable(r));
	robots_free(r);
	r = robots_for_status(301);
	ASSERT_TRUE(robots_allowed(r, "/x"));
	robots_free(r);
	ASSERT_TRUE(robots_allowed(NULL, "/x"));
	r = robots_parse(NULL, 0, NULL);
	ASSERT_TRUE(robots_allowed(r, "/x"));
	robots_free(r);
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
