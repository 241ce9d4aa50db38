/* Unit tests: URL canonicalisation, resolution, host/origin keys and Archon-compatible source ids. */
#include "testlib.h"
#include "lib/crawl/url.h"

#include <stdlib.h>

static void check_canon(const char *in, const char *expect)
{
	char *got = url_canonical(in);
	if (expect)
		ASSERT_STR_EQ(got, expect);
	else
		ASSERT_TRUE(got == NULL);
	free(got);
}

static void check_resolve(const char *base, const char *ref, const char *expect)
{
	char *got = url_resolve(base, ref);
	if (expect)
		ASSERT_STR_EQ(got, expect);
	else
		ASSERT_TRUE(got == NULL);
	free(got);
}

TEST(canonical_lowercases_drops_default_port_and_fragment)
{
	check_canon("HTTP://Example.COM:80/a/b/../c/./d?x=1&Y=2#frag", "http://example.com/a/c/d?x=1&Y=2");
	check_canon("https://example.com:443", "https://example.com/");
	check_canon("https://Example.com:8443/Path", "https://example.com:8443/Path");
	check_canon("http://example.com:443/", "http://example.com:443/");
	check_canon("https://example.com/?", "https://example.com/");
	check_canon("  https://example.com/a\n/b\t \r\n", "https://example.com/a/b");
	check_canon("https://user:secret@example.com/x", "https://example.com/x");
	check_canon("https://[::1]:8080/", "https://[::1]:8080/");
}

TEST(canonical_normalises_escapes)
{
	check_canon("https://example.com/a%2fb%7e%41%3f?q=%26%2d", "https://example.com/a%2Fb~A%3F?q=%26-");
	check_canon("https://example.com/x y/\xc3\xa9?q=a b&r=\"",
	            "https://example.com/x%20y/%C3%A9?q=a%20b&r=%22");
	check_canon("https://example.com/100%/p?d=50%", "https://example.com/100%25/p?d=50%25");
	check_canon("https://example.com/a{b}|c", "https://example.com/a%7Bb%7D|c");
}

TEST(canonical_refuses_other_schemes_and_garbage)
{
	check_canon("ftp://example.com/file", NULL);
	check_canon("mailto:someone@example.com", NULL);
	check_canon("javascript:alert(1)", NULL);
	check_canon("example.com/foo", NULL);
	check_canon("/relative/path", NULL);
	check_canon("https://exa mple.com/", NULL);
	check_canon("https://example.com/a\x01" "b", NULL);
	check_canon("https://example.com:99999/", NULL);
	check_canon("https://example.com/\xff", "https://example.com/%FF");
	check_canon("https://\xff\xfe.com/", NULL);
	check_canon("", NULL);
	check_canon(NULL, NULL);
}

TEST(canonical_refuses_overlong_urls)
{
	char *s = malloc(URL_MAX_LEN + 100);
	strcpy(s, "https://example.com/");
	memset(s + 20, 'a', URL_MAX_LEN);
	s[URL_MAX_LEN + 20] = '\0';
	check_canon(s, NULL);
	free(s);
}

TEST(resolve_relative_references)
{
	const char *base = "https://example.com/docs/guide/intro.html?x=1#top";
	check_resolve(base, "setup.html", "https://example.com/docs/guide/setup.html");
	check_resolve(base, "./setup.html#s1", "https://example.com/docs/guide/setup.html");
	check_resolve(base, "../api/", "https://example.com/docs/api/");
	check_resolve(base, "../../../../x", "https://example.com/x");
	check_resolve(base, "/abs", "https://example.com/abs");
	check_resolve(base, "?page=2", "https://example.com/docs/guide/intro.html?page=2");
	check_resolve(base, "#section", "https://example.com/docs/guide/intro.html?x=1");
	check_resolve(base, "", "https://example.com/docs/guide/intro.html?x=1");
	check_resolve(base, "//CDN.example.org/lib.js", "https://cdn.example.org/lib.js");
	check_resolve(base, "HTTP://Other.Example:80/", "http://other.example/");
	check_resolve(base, "  my page.html ", "https://example.com/docs/guide/my%20page.html");
	check_resolve(base, "\\\\evil.example/x", "https://evil.example/x");
}

TEST(resolve_refuses_non_http_targets)
{
	const char *base = "https://example.com/a/";
	check_resolve(base, "mailto:x@example.com", NULL);
	check_resolve(base, "javascript:void(0)", NULL);
	check_resolve(base, "JavaScript:alert(1)", NULL);
	check_resolve(base, "data:text/plain,hi", NULL);
	check_resolve(base, "ftp://example.com/f", NULL);
	check_resolve(base, "tel:+123", NULL);
	check_resolve("ftp://example.com/", "x", NULL);
	check_resolve("not a url", "/x", NULL);
	check_resolve(base, NULL, NULL);
}

TEST(host_origin_and_path)
{
	char *h = url_host("HTTPS://Example.COM:443/x?y");
	ASSERT_STR_EQ(h, "example.com");
	free(h);
	h = url_host("http://example.com:8080/x");
	ASSERT_STR_EQ(h, "example.com:8080");
	free(h);
	h = url_host("http://[2001:DB8::1]:81/");
	ASSERT_STR_EQ(h, "[2001:db8::1]:81");
	free(h);
	char *o = url_origin("https://Example.com:8443/a/b?c#d");
	ASSERT_STR_EQ(o, "https://example.com:8443");
	free(o);
	char *p = url_path_query("https://example.com/a/../b?c=1#d");
	ASSERT_STR_EQ(p, "/b?c=1");
	free(p);
	p = url_path_query("https://example.com");
	ASSERT_STR_EQ(p, "/");
	free(p);
	ASSERT_TRUE(url_host("mailto:x@y") == NULL);
	ASSERT_TRUE(url_origin("nope") == NULL);
}

/* Expected ids computed with Archon's rule in Python (urlparse, parse_qsl, urlencode, sha256()[:16]). */
TEST(source_id_matches_archon)
{
	static const char *const cases[][2] = {
	        {"https://docs.example.com/guide/", "15ae3143d81587ba"},
	        {"HTTPS://Docs.Example.com:443/guide", "15ae3143d81587ba"},
	        {"https://example.com", "0f115db062b7c0dd"},
	        {"https://example.com/?ref=home#x", "0f115db062b7c0dd"},
	        {"https://example.com/a/b;jsessionid=9/?b=2&a=1&utm_source=x&a=%7e+z&flag",
	         "651a8319351dec6e"},
	        {"http://example.com:8080/x//", "5112ef1273a0ab2d"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *id = url_source_id(cases[i][0]);
		ASSERT_STR_EQ(id, cases[i][1]);
		ASSERT_INT_EQ(id ? strlen(id) : 0, URL_SOURCE_ID_LEN);
		free(id);
	}
	ASSERT_TRUE(url_source_id("ftp://example.com/") == NULL);
}

/* url_resolve_canonical's string fast path gives exactly what libcurl's resolution gives, and leaves every
 * other reference to it. */
TEST(resolve_canonical_matches_resolve)
{
	static const char *const bases[] = {
		"http://example.com/docs/current/index.html", "https://Example.COM:443/a/b/c.html?q=1&r=2#top",
		"http://example.com", "http://example.com:8080/dir/", "http://[::1]:81/x/y/z", "https://h/p%7Eq/r?x=/y/z",
	};
	static const char *const refs[] = {
		"page.html", "a-b_c~1.htm", "x#frag", "Z9", "sql-select.html#SQL-SELECT-LIMIT", "", "#only", ".", "..",
		".hidden", "..x", "a/b.html", "/abs.html", "?q=2", "//other.org/x", "a b", "a%20b", "caf\xc3\xa9",
		"mailto:x@y.org", "javascript:void(0)", "page.html ", " page.html", "a\\b", "UPPER.HTML", "~tilde",
	};
	for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++) {
		char *canon = url_canonical(bases[b]);
		ASSERT_TRUE(canon != NULL);
		for (size_t r = 0; r < sizeof refs / sizeof refs[0]; r++) {
			char *fast = url_resolve_canonical(canon, refs[r]), *slow = url_resolve(bases[b], refs[r]);
			if (slow)
				ASSERT_STR_EQ(fast, slow);
			else
				ASSERT_TRUE(fast == NULL);
			free(fast);
			free(slow);
		}
		free(canon);
	}
	check_resolve("http://example.com/docs/current/index.html", "sql-select.html#x",
	              "http://example.com/docs/current/sql-select.html");
	char *r = url_resolve_canonical("https://example.com/a/b.html?x=/y", "c.html");
	ASSERT_STR_EQ(r, "https://example.com/a/c.html");
	free(r);
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
