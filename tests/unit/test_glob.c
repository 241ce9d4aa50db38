/* Unit tests: URL glob patterns (*, **, ?, escapes) and include/exclude decisions. */
#include "lib/crawl/urlglob.h"
#include "testlib.h"

#include <stdlib.h>

TEST(star_stays_within_a_segment)
{
	ASSERT_TRUE(glob_match("https://example.com/docs/*", "https://example.com/docs/intro"));
	ASSERT_TRUE(glob_match("https://example.com/docs/*", "https://example.com/docs/"));
	ASSERT_TRUE(!glob_match("https://example.com/docs/*", "https://example.com/docs/a/b"));
	ASSERT_TRUE(glob_match("https://example.com/*/intro", "https://example.com/v2/intro"));
	ASSERT_TRUE(!glob_match("https://example.com/*/intro", "https://example.com/v2/x/intro"));
	ASSERT_TRUE(glob_match("*.html", "index.html"));
	ASSERT_TRUE(!glob_match("*.html", "a/index.html"));
}

TEST(double_star_crosses_segments)
{
	ASSERT_TRUE(glob_match("https://example.com/docs/**", "https://example.com/docs/a/b/c?x=1"));
	ASSERT_TRUE(glob_match("https://example.com/docs/**", "https://example.com/docs/"));
	ASSERT_TRUE(!glob_match("https://example.com/docs/**", "https://example.com/blog/a"));
	ASSERT_TRUE(glob_match("**.pdf", "https://example.com/a/b.pdf"));
	ASSERT_TRUE(!glob_match("**.pdf", "https://example.com/a/b.pdf?x"));
	ASSERT_TRUE(glob_match("**/api/**", "https://example.com/v1/api/users"));
	ASSERT_TRUE(glob_match("a***b", "a/x/b"));
}

TEST(question_mark_and_escapes)
{
	ASSERT_TRUE(glob_match("/v?/x", "/v1/x"));
	ASSERT_TRUE(!glob_match("/v?/x", "/v/x"));
	ASSERT_TRUE(!glob_match("/v?/x", "/v//x"));
	ASSERT_TRUE(glob_match("/a\\*b", "/a*b"));
	ASSERT_TRUE(!glob_match("/a\\*b", "/axb"));
	ASSERT_TRUE(glob_match("/q\\?", "/q?"));
	ASSERT_TRUE(!glob_match("/q\\?", "/qx"));
	ASSERT_TRUE(glob_match("[x]{y}", "[x]{y}"));
	ASSERT_TRUE(glob_match("", ""));
	ASSERT_TRUE(!glob_match("", "a"));
	ASSERT_TRUE(glob_match("*", ""));
	ASSERT_TRUE(!glob_match(NULL, "a"));
	ASSERT_TRUE(!glob_match("a", NULL));
}

TEST(pathological_patterns_are_linear)
{
	size_t n = 200000;
	char *s = malloc(n + 1);
	memset(s, 'a', n);
	s[n] = '\0';
	/* A backtracking matcher needs ~n^6 steps here; the automaton needs ~13n. */
	ASSERT_TRUE(!glob_match("a*a*a*a*a*a*b", s));
	ASSERT_TRUE(!glob_match("**a**a**a**a**a**a**b", s));
	ASSERT_TRUE(glob_match("a*a*a*a*a*a*", s));
	s[n - 1] = 'b';
	ASSERT_TRUE(glob_match("a*a*a*a*a*a*b", s));
	s[n / 2] = '/';
	ASSERT_TRUE(!glob_match("a*a*a*a*a*a*b", s));
	ASSERT_TRUE(glob_match("a*a*a*/*a*a*b", s));
	ASSERT_TRUE(glob_match("a**a*b", s));
	free(s);
}

TEST(include_exclude_decisions)
{
	const char *inc[] = {"https://example.com/docs/**", "/guide/**"};
	const char *exc[] = {"**/changelog/**", "/docs/old/*"};
	ASSERT_TRUE(glob_url_allowed(inc, 2, exc, 2, "https://example.com/docs/start"));
	ASSERT_TRUE(glob_url_allowed(inc, 2, exc, 2, "https://other.example/guide/x"));
	ASSERT_TRUE(!glob_url_allowed(inc, 2, exc, 2, "https://example.com/blog/x"));
	ASSERT_TRUE(!glob_url_allowed(inc, 2, exc, 2, "https://example.com/docs/changelog/1.0"));
	ASSERT_TRUE(!glob_url_allowed(inc, 2, exc, 2, "https://example.com/docs/old/page"));
	ASSERT_TRUE(glob_url_allowed(inc, 2, exc, 2, "https://example.com/docs/old/sub/page"));
	ASSERT_TRUE(glob_url_allowed(NULL, 0, NULL, 0, "https://example.com/anything"));
	ASSERT_TRUE(!glob_url_allowed(NULL, 0, exc, 2, "https://example.com/x/changelog/y"));
	ASSERT_TRUE(glob_url_allowed(inc, 2, exc, 2, "https://example.com/guide") == false);
	ASSERT_TRUE(!glob_url_allowed(NULL, 0, NULL, 0, NULL));
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
