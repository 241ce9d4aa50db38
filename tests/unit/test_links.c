/* Unit tests: HTML link extraction (<base>, relative, nofollow, meta robots, caps) and llms.txt links. */
#include "links.h"
#include "testlib.h"

#include <stdlib.h>

#include "buf.h"
#include "mem.h"

static char *read_fixture(const char *name, size_t *len)
{
	const char *dir = getenv("PGKB_TEST_DATA");
	char *path = xasprintf("%s/crawl/%s", dir ? dir : "tests/data", name);
	FILE *f = fopen(path, "rb");
	free(path);
	struct buf b = BUF_INIT;
	if (f) {
		char chunk[4096];
		size_t n;
		while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
			buf_append(&b, chunk, n);
		fclose(f);
	}
	*len = b.len;
	return buf_steal(&b);
}

static void check_urls(const struct links *l, const char *const *expect, size_t n)
{
	ASSERT_INT_EQ(l->n, n);
	for (size_t i = 0; i < n && i < l->n; i++)
		ASSERT_STR_EQ(l->urls[i], expect[i]);
}

TEST(html_fixture_with_base_relative_and_skips)
{
	size_t len;
	char *html = read_fixture("page.html", &len);
	ASSERT_TRUE(len > 0);
	struct links l;
	const char *page = "https://docs.example.com/docs/v2/guide.html";
	ASSERT_INT_EQ(links_from_html(html, len, page, NULL, 0, &l), 0);
	static const char *const expect[] = {
	        "https://docs.example.com/docs/v2/index.html",
	        "https://docs.example.com/docs/v1/",
	        "https://docs.example.com/docs/v2/setup.html",
	        "https://docs.example.com/api/?q=a%20b&x=1",
	        "https://other.example/x",
	        "https://cdn.example.org/lib",
	        "https://docs.example.com/docs/v2/map.html",
	        "https://docs.example.com/docs/v2/caf%C3%A9.html",
	};
	check_urls(&l, expect, sizeof expect / sizeof expect[0]);
	ASSERT_INT_EQ(l.skipped_nofollow, 2);
	ASSERT_TRUE(!l.noindex && !l.nofollow && !l.truncated);
	links_free(&l);
	free(html);
}

TEST(links_without_base_resolve_against_the_page)
{
	const char *html = "<a href='../up/x.html'>x</a><a href='y'>y</a><a href='?p=2'>p</a>"
	                   "<a href='#f'>f</a><base target=_blank>";
	const char *page = "http://Example.com:80/a/b/page.html?p=1";
	struct links l;
	ASSERT_INT_EQ(links_from_html(html, strlen(html), page, NULL, 0, &l), 0);
	static const char *const expect[] = {
	        "http://example.com/a/up/x.html",
	        "http://example.com/a/b/y",
	        "http://example.com/a/b/page.html?p=2",
	};
	check_urls(&l, expect, 3);
	links_free(&l);
}

TEST(meta_robots_flags)
{
	const char *html = "<html><head><meta name=\"ROBOTS\" content=\"NoIndex, NOFOLLOW\"></head>"
	                   "<body><a href=\"/x\">x</a></body></html>";
	struct links l;
	ASSERT_INT_EQ(links_from_html(html, strlen(html), "https://example.com/", NULL, 0, &l), 0);
	ASSERT_TRUE(l.noindex);
	ASSERT_TRUE(l.nofollow);
	ASSERT_INT_EQ(l.n, 0);
	links_free(&l);

	html = "<meta name=robots content=noindex><a href=/x>x</a>";
	ASSERT_INT_EQ(links_from_html(html, strlen(html), "https://example.com/", NULL, 0, &l), 0);
	ASSERT_TRUE(l.noindex && !l.nofollow);
	ASSERT_INT_EQ(l.n, 1);
	links_free(&l);

	html = "<meta name=description content=nofollow><meta name=robots content=none><a href=/x>x</a>";
	ASSERT_INT_EQ(links_from_html(html, strlen(html), "https://example.com/", NULL, 0, &l), 0);
	ASSERT_TRUE(l.noindex && l.nofollow);
	ASSERT_INT_EQ(l.n, 0);
	links_free(&l);

	bool ni = false, nf = false;
	links_robots_directives("noarchive, nofollowing", &ni, &nf);
	ASSERT_TRUE(!ni && !nf);
	links_robots_directives("index,nofollow", &ni, &nf);
	ASSERT_TRUE(!ni && nf);
	links_robots_directives(NULL, &ni, &nf);
	ASSERT_TRUE(!ni && nf);
}

TEST(link_count_is_capped_after_dedupe)
{
	struct buf b = BUF_INIT;
	for (int i = 0; i < 50; i++)
		buf_printf(&b, "<a href=\"/same\">s</a><a href=\"/p/%d\">p</a>", i);
	struct links l;
	ASSERT_INT_EQ(links_from_html(b.data, b.len, "https://example.com/", NULL, 10, &l), 0);
	ASSERT_INT_EQ(l.n, 10);
	ASSERT_TRUE(l.truncated);
	ASSERT_STR_EQ(l.urls[0], "https://example.com/same");
	ASSERT_STR_EQ(l.urls[9], "https://example.com/p/8");
	links_free(&l);

	buf_reset(&b);
	for (int i = 0; i < 3000; i++)
		buf_printf(&b, "<a href=\"/p/%d\">p</a><a href=\"/p/%d\">again</a>", i, i / 2);
	ASSERT_INT_EQ(links_from_html(b.data, b.len, "https://example.com/", NULL, 0, &l), 0);
	ASSERT_INT_EQ(l.n, 3000);
	ASSERT_TRUE(!l.truncated);
	links_free(&l);
	buf_free(&b);
}

TEST(charsets)
{
	const char *latin1 = "<a href=\"caf\xE9.html\">x</a>";
	struct links l;
	ASSERT_INT_EQ(links_from_html(latin1, strlen(latin1), "https://example.com/", "latin1", 0, &l), 0);
	ASSERT_INT_EQ(l.n, 1);
	ASSERT_STR_EQ(l.n ? l.urls[0] : NULL, "https://example.com/caf%C3%A9.html");
	links_free(&l);

	const char *utf8 = "<a href=\"caf\xC3\xA9.html\">x</a>";
	ASSERT_INT_EQ(links_from_html(utf8, strlen(utf8), "https://example.com/", NULL, 0, &l), 0);
	ASSERT_INT_EQ(l.n, 1);
	ASSERT_STR_EQ(l.n ? l.urls[0] : NULL, "https://example.com/caf%C3%A9.html");
	links_free(&l);
}

TEST(bad_input)
{
	struct links l;
	ASSERT_INT_EQ(links_from_html("<a href=x>", 10, "mailto:x@example.com", NULL, 0, &l), -1);
	links_free(&l);
	ASSERT_INT_EQ(links_from_html("", 0, "https://example.com/", NULL, 0, &l), 0);
	ASSERT_INT_EQ(l.n, 0);
	links_free(&l);
	ASSERT_INT_EQ(links_from_html("\0\0\0\xff", 4, "https://example.com/", NULL, 0, &l), 0);
	links_free(&l);
	const char *deep = "<div><div><div><a href=/deep>";
	struct buf b = BUF_INIT;
	for (int i = 0; i < 5000; i++)
		buf_puts(&b, deep);
	ASSERT_INT_EQ(links_from_html(b.data, b.len, "https://example.com/", NULL, 0, &l), 0);
	ASSERT_INT_EQ(l.n, 1);
	links_free(&l);
	buf_free(&b);
}

TEST(llms_txt_fixture)
{
	size_t len;
	char *txt = read_fixture("llms.txt", &len);
	ASSERT_TRUE(len > 0);
	struct links l;
	ASSERT_INT_EQ(links_from_llms_txt(txt, len, "https://docs.example.com/llms.txt", 0, &l), 0);
	static const char *const expect[] = {
	        "https://example.com/",
	        "https://docs.example.com/guide/start.md",
	        "https://docs.example.com/api.md",
	        "https://docs.example.com/quickstart.md",
	        "https://docs.example.com/config_(advanced).md",
	        "https://docs.example.com/spaced%20name.md",
	        "https://docs.example.com/autolink.md",
	        "https://docs.example.com/reference.md",
	        "https://docs.example.com/nested.md",
	};
	check_urls(&l, expect, sizeof expect / sizeof expect[0]);
	links_free(&l);

	ASSERT_INT_EQ(links_from_llms_txt(txt, len, NULL, 2, &l), 0);
	ASSERT_INT_EQ(l.n, 2);
	ASSERT_TRUE(l.truncated);
	ASSERT_STR_EQ(l.urls[1], "https://docs.example.com/api.md");
	links_free(&l);
	ASSERT_INT_EQ(links_from_llms_txt(txt, len, "not a url", 0, &l), -1);
	links_free(&l);
	free(txt);
}

TEST(llms_txt_pathological_brackets_are_linear)
{
	size_t n = 1 << 20;
	char *s = xmalloc(n);
	memset(s, '[', n / 2);
	memset(s + n / 2, ']', n / 2);
	struct links l;
	ASSERT_INT_EQ(links_from_llms_txt(s, n, "https://example.com/", 0, &l), 0);
	ASSERT_INT_EQ(l.n, 0);
	links_free(&l);
	static const char *const units[] = {"[](", "[](<", "[](x \"", "[x](y z", "<https://"};
	for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
		size_t ul = strlen(units[u]);
		for (size_t i = 0; i + ul <= n; i += ul)
			memcpy(s + i, units[u], ul);
		ASSERT_INT_EQ(links_from_llms_txt(s, n - n % ul, "https://example.com/", 0, &l), 0);
		ASSERT_INT_EQ(l.n, 0);
		links_free(&l);
	}
	free(s);
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
