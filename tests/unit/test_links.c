/* Unit tests: HTML link extraction (<base>, relative, nofollow, meta robots, caps), the fast start-tag scanner
 * against libxml2, and llms.txt links. */
#include "lib/crawl/links.h"
#include "lib/crawl/tag_scan.h"
#include "testlib.h"

#include <dirent.h>
#include <stdlib.h>

#include "lib/util/buf.h"
#include "lib/util/mem.h"

static char *read_fixture(const char *name, size_t *len)
{
	const char *dir = getenv("PGKB_TEST_DATA");
	char *path = xasprintf("%s/crawl/%s", dir ? dir : "tests/data", name);
	char *s = test_read_file(path, len);
	free(path);
	return s ? s : xstrdup(""); /* a missing fixture reads as empty: its assertions fail */
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


/* --- the fast scanner against libxml2 --- */

/* links_from_html (fast scanner first) and links_from_html_parsed (libxml2 always) agree on html. */
static void check_same_as_libxml2(const char *html, size_t len, const char *charset, const char *what)
{
	struct links a, b;
	const char *page = "https://example.com/docs/page.html";
	ASSERT_INT_EQ(links_from_html(html, len, page, charset, 0, &a), 0);
	ASSERT_INT_EQ(links_from_html_parsed(html, len, page, charset, 0, &b), 0);
	bool same = a.n == b.n && a.noindex == b.noindex && a.nofollow == b.nofollow &&
	            a.skipped_nofollow == b.skipped_nofollow && a.truncated == b.truncated;
	for (size_t i = 0; same && i < a.n; i++)
		same = strcmp(a.urls[i], b.urls[i]) == 0;
	if (!same)
		TEST_FAIL_AT("%s: %zu links from the scanner, %zu from libxml2", what, a.n, b.n);
	links_free(&a);
	links_free(&b);
}

static int count_tags(void *arg, const char *name, size_t name_len, const struct tag_attr *attrs, size_t n)
{
	(*(int *)arg)++;
	return 0;
}

/* Pages where the HTML standard, libxml2 and a naive scanner part ways: the scanner must read them as libxml2
 * does or give up on them (the last three were found by fuzz_links). */
TEST(scanner_agrees_with_libxml2_on_tricky_pages)
{
	static const char *const pages[] = {
	        "<title><a href=t1></title><a href=after>",
	        "<textarea><a href=t2></textarea><a href=after>",
	        "<script><a href=s1></script><a href=after>",
	        "<script>x='</div><a href=s2>'</script><a href=after>",
	        "<style><a href=s3></style><a href=after>",
	        "<script/><a href=x></script><a href=y>",
	        "<script>a</SCRIPT ><a href=y>",
	        "<script>a</scriptx><a href=z></script><a href=y>",
	        "<iframe><a href=i1></iframe><noscript><a href=n1></noscript><xmp><a href=x1></xmp>",
	        "<!--><a href=c1>--><a href=after>",
	        "<!-- x -- y --><a href=after><!-- unterminated <a href=lost>",
	        "<a href=\"a&amp;b&lt;&quot;&#65;&#x42;&copy;&foo;&amp\">",
	        "<a href=\"&AMP;&amp\"><a href=\"&#x41\"><a href=\"&#0;&#xD800;&#128;\">",
	        "<a href='x' href='y' HREF=z><A HREF=up>",
	        "<a href=\"unterminated>",
	        "<a href=x<b><a/href=x><a href = x ><a =x href=y><a href=\"x\"title=t>",
	        "</html><a href=late><p>x</p></body></html><a href=late2>",
	        "<?php echo 1 ?><a href=after><!DOCTYPE html><a href=after2>",
	        "<!DOCTYPE html PUBLIC \"-//W3C//DTD>\" \"x\"><a href=y>",
	        "<?pi a>b?><a href=y></div foo><a href=y2><![CDATA[<a href=x>]]><a href=y3>",
	        "<<a href=x><3 <a href=x2><=<a href=x3><-<a href=x4><_a href=x5>< a href=sp>",
	        "<a\nhref=nl><a href=x\nrel=nofollow><a href=\"a\nb\tc\r\nd\">",
	        "<base href=b><base href=c><a href=rel>",
	        "<meta name=robots content=nofollow><a href=x>",
	        "<meta name=ROBOTS content=\"noindex\"><a href=x>",
	        "<meta charset=\"utf-7\"><a href=\"+AGE-\">",
	        "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=shift_jis\"><a href=x>",
	        "<a href=\"caf\xc3\xa9\"><a href=\"\xe9t\xe9\">",
	        "<p>\xff</p><a href=\"caf\xc3\xa9\">",
	        "<a href=\"x\"\f><a href=y/><ab href=no><a1 href=no2>",
	        "<?xml version=\"1.0\"?>\n<!DOCTYPE ht<area href=-//W3C//DTD XHTML 1.0//EN\" \"http://x\"><a href=y>",
	        "<meta charset=\"utf-7\"><base href=\"/docs/v2/\"><a href=\"x\">\xf6\xdf<a href=\"tekeis23\">",
	        "<?../!docthtml\n  <a href=\"```#\x8c\x90lmailto:>\n",
	};
	for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
		check_same_as_libxml2(pages[i], strlen(pages[i]), NULL, pages[i]);
		check_same_as_libxml2(pages[i], strlen(pages[i]), "ISO-8859-1", pages[i]);
		check_same_as_libxml2(pages[i], strlen(pages[i]), "utf-8", pages[i]);
	}
}

/* Every page of the crawl fixtures, and of the PostgreSQL HTML docs where installed: the scanner reads each
 * one itself (it does not give up on ordinary pages) and finds what libxml2 finds. */
TEST(scanner_agrees_with_libxml2_on_real_pages)
{
	const char *data = getenv("PGKB_TEST_DATA");
	if (!data)
		data = "tests/data";
	/* the ingest fixtures (tests/data/html) include pages in Latin-1, which go to libxml2 */
	char *dirs[4] = {xasprintf("%s/site", data), xasprintf("%s/site/docs", data),
	                 xstrdup("/usr/share/doc/postgresql-doc-15/html"), xasprintf("%s/html", data)};
	int pages = 0;
	for (int d = 0; d < 4; d++) {
		DIR *dir = opendir(dirs[d]);
		for (struct dirent *e; dir && (e = readdir(dir));) {
			size_t nl = strlen(e->d_name);
			if (nl < 5 || strcmp(e->d_name + nl - 5, ".html") != 0)
				continue;
			char *path = xasprintf("%s/%s", dirs[d], e->d_name);
			size_t len;
			char *html = test_read_file(path, &len);
			int tags = 0;
			if (d < 3 && (tag_scan(html, len, count_tags, &tags) != 0 || tags == 0))
				TEST_FAIL_AT("%s: the scanner gave up on an ordinary page", path);
			check_same_as_libxml2(html, len, NULL, path);
			pages++;
			free(html);
			free(path);
		}
		if (dir)
			closedir(dir);
		free(dirs[d]);
	}
	ASSERT_TRUE(pages >= 5);
}

TEST(scanner_reads_tags_comments_and_raw_text)
{
	static const char page[] = "<!DOCTYPE html><!-- <a href=c> --><A HREF='one' rel=\"next page\" data-x>"
	                           "<script>if (a<b) document.write('<a href=s>')</script >"
	                           "<img src=x.png alt=\"a > b\"/><area href=two>";
	int tags = 0;
	ASSERT_INT_EQ(tag_scan(page, strlen(page), count_tags, &tags), 0);
	ASSERT_INT_EQ(tags, 4); /* a, script, img, area */
	check_same_as_libxml2(page, strlen(page), NULL, page);
	static const char *const unsure[] = {"<a href=\"x", "<!-- open", "<a href=x><script>never closed",
	                                     "<a\fhref=x>", "<![CDATA[x]]>", "<a href=\"x\"y>", "a\0<a href=x>"};
	for (size_t i = 0; i < sizeof unsure / sizeof unsure[0]; i++) {
		size_t len = i == 6 ? 13 : strlen(unsure[i]);
		int n = 0;
		if (tag_scan(unsure[i], len, count_tags, &n) != TAG_SCAN_UNSURE)
			TEST_FAIL_AT("tag_scan accepted %s", unsure[i]);
	}
}
/* A link over URL_STORE_MAX_LEN (but under URL_MAX_LEN) is skipped and counted, in HTML (fast scanner and
 * libxml2) and in llms.txt; the links around it are kept. */
TEST(long_links_skipped_and_counted)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "<html><body><a href='/one'>1</a><a href='/");
	for (int i = 0; i < 6000; i++)
		buf_append(&b, "x", 1);
	buf_printf(&b, "'>long</a><a href='/two'>2</a></body></html>");
	for (int parsed = 0; parsed < 2; parsed++) {
		struct links l;
		int rc = parsed ? links_from_html_parsed(b.data, b.len, "https://e.com/", NULL, 0, &l)
		                : links_from_html(b.data, b.len, "https://e.com/", NULL, 0, &l);
		ASSERT_INT_EQ(rc, 0);
		ASSERT_INT_EQ(l.n, 2);
		ASSERT_INT_EQ(l.skipped_long, 1);
		links_free(&l);
	}
	buf_free(&b);
	buf_printf(&b, "- [a](https://e.com/a)\n- [long](https://e.com/");
	for (int i = 0; i < 3000; i++)
		buf_append(&b, "y", 1);
	buf_printf(&b, ")\n- [c](/c)\n");
	struct links l;
	ASSERT_INT_EQ(links_from_llms_txt(b.data, b.len, "https://e.com/llms.txt", 0, &l), 0);
	ASSERT_INT_EQ(l.n, 2);
	ASSERT_INT_EQ(l.skipped_long, 1);
	links_free(&l);
	buf_free(&b);
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
