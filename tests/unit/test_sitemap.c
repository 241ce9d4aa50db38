/* Unit tests: sitemap index, urlset (plain and gzip), text sitemaps, limits, gzip bombs, XXE and W3C
 * datetimes. */
#include "lib/crawl/sitemap.h"
#include "testlib.h"

#include <stdlib.h>

#include <zlib.h>

#include "lib/util/buf.h"
#include "lib/util/mem.h"

/* Reads tests/data/crawl/NAME into a heap buffer (NUL-terminated). */
static char *read_fixture(const char *name, size_t *len)
{
	const char *dir = getenv("PGKB_TEST_DATA");
	char *path = xasprintf("%s/crawl/%s", dir ? dir : "tests/data", name);
	char *s = test_read_file(path, len);
	free(path);
	return s ? s : xstrdup(""); /* a missing fixture reads as empty: its assertions fail */
}

/* Compresses p[0..n) as one gzip member, appending to out. */
static void gzip_append(struct buf *out, const void *p, size_t n)
{
	z_stream zs = {0};
	ASSERT_INT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	size_t cap = deflateBound(&zs, (uLong)n);
	unsigned char *tmp = xmalloc(cap);
	zs.next_in = (unsigned char *)p;
	zs.avail_in = (uInt)n;
	zs.next_out = tmp;
	zs.avail_out = (uInt)cap;
	ASSERT_INT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
	buf_append(out, tmp, cap - zs.avail_out);
	deflateEnd(&zs);
	free(tmp);
}

static const char *url_at(const struct sitemap *sm, size_t i)
{
	return i < sm->n ? sm->entries[i].url : "(missing)";
}

TEST(sitemap_index_fixture)
{
	size_t len;
	char *xml = read_fixture("sitemap_index.xml", &len);
	struct sitemap sm;
	ASSERT_INT_EQ(sitemap_parse(xml, len, "https://docs.example.com/sitemap.xml", &sm), 0);
	ASSERT_TRUE(sm.is_index);
	ASSERT_TRUE(sm.error == NULL);
	ASSERT_INT_EQ(sm.n, 3);
	ASSERT_STR_EQ(url_at(&sm, 0), "https://docs.example.com/sitemap-guides.xml.gz");
	ASSERT_STR_EQ(url_at(&sm, 1), "https://docs.example.com/sitemap-api.xml");
	ASSERT_STR_EQ(url_at(&sm, 2), "https://docs.example.com/sitemap-relative.xml");
	if (sm.n == 3) {
		ASSERT_INT_EQ(sm.entries[0].lastmod, 1709292600); /* 2024-03-01T11:30:00Z */
		ASSERT_INT_EQ(sm.entries[1].lastmod, 0);
		ASSERT_INT_EQ(sm.entries[2].lastmod, 1709164800); /* 2024-02-29 */
	}
	sitemap_free(&sm);
	free(xml);
}

static void check_urlset(const struct sitemap *sm)
{
	ASSERT_TRUE(!sm->is_index);
	ASSERT_INT_EQ(sm->n, 3);
	ASSERT_STR_EQ(url_at(sm, 0), "https://docs.example.com/");
	ASSERT_STR_EQ(url_at(sm, 1), "https://docs.example.com/guide/intro?lang=en&v=2");
	ASSERT_STR_EQ(url_at(sm, 2), "https://docs.example.com/guide/setup");
	if (sm->n == 3) {
		ASSERT_INT_EQ(sm->entries[0].lastmod, 1705276800); /* 2024-01-15 */
		ASSERT_INT_EQ(sm->entries[1].lastmod, 1705305600); /* 2024-01-15T08:00:00Z */
		ASSERT_INT_EQ(sm->entries[2].lastmod, 0);
	}
}

TEST(urlset_plain_and_gzipped)
{
	size_t len;
	char *xml = read_fixture("sitemap_urlset.xml", &len);
	ASSERT_TRUE(len > 0);
	struct sitemap sm;
	ASSERT_INT_EQ(sitemap_parse(xml, len, NULL, &sm), 0);
	check_urlset(&sm);
	sitemap_free(&sm);

	struct buf gz = BUF_INIT;
	gzip_append(&gz, xml, len);
	ASSERT_INT_EQ(sitemap_parse(gz.data, gz.len, NULL, &sm), 0);
	check_urlset(&sm);
	sitemap_free(&sm);

	/* Two concatenated members (what `cat a.gz b.gz` gives) inflate as one stream. */
	buf_reset(&gz);
	gz.len = 0;
	gzip_append(&gz, xml, len / 2);
	gzip_append(&gz, xml + len / 2, len - len / 2);
	ASSERT_INT_EQ(sitemap_parse(gz.data, gz.len, NULL, &sm), 0);
	check_urlset(&sm);
	sitemap_free(&sm);

	ASSERT_INT_EQ(sitemap_parse(gz.data, gz.len / 2, NULL, &sm), -1);
	ASSERT_STR_CONTAINS(sm.error, "gzip");
	sitemap_free(&sm);
	gz.data[12] ^= 0x55;
	gz.data[13] ^= 0xAA;
	ASSERT_INT_EQ(sitemap_parse(gz.data, gz.len, NULL, &sm), -1);
	ASSERT_STR_CONTAINS(sm.error, "gzip");
	sitemap_free(&sm);
	buf_free(&gz);
	free(xml);
}

TEST(text_sitemap)
{
	size_t len;
	char *txt = read_fixture("sitemap.txt", &len);
	struct sitemap sm;
	ASSERT_INT_EQ(sitemap_parse(txt, len, "https://docs.example.com/sitemap.txt", &sm), 0);
	ASSERT_TRUE(!sm.is_index);
	ASSERT_INT_EQ(sm.n, 2);
	ASSERT_STR_EQ(url_at(&sm, 0), "https://docs.example.com/a");
	ASSERT_STR_EQ(url_at(&sm, 1), "https://docs.example.com/b");
	sitemap_free(&sm);
	free(txt);

	ASSERT_INT_EQ(sitemap_parse("", 0, NULL, &sm), 0);
	ASSERT_INT_EQ(sm.n, 0);
	sitemap_free(&sm);
}

/* A gzip stream of `reps` MiB of zeros, built by repeating one fully flushed deflate block (about 1 KiB per
 * MiB). */
static void make_bomb(struct buf *out, size_t reps)
{
	size_t chunk = 1 << 20;
	unsigned char *zeros = xcalloc(chunk, 1);
	unsigned char block[16384], fin[64];
	z_stream zs = {0};
	ASSERT_INT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = zeros;
	zs.avail_in = (uInt)chunk;
	zs.next_out = block;
	zs.avail_out = sizeof block;
	ASSERT_INT_EQ(deflate(&zs, Z_FULL_FLUSH), Z_OK);
	size_t blen = sizeof block - zs.avail_out;
	zs.next_out = fin;
	zs.avail_out = sizeof fin;
	ASSERT_INT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
	size_t flen = sizeof fin - zs.avail_out;
	deflateEnd(&zs);

	static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
	buf_append(out, header, sizeof header);
	for (size_t i = 0; i < reps; i++)
		buf_append(out, block, blen);
	buf_append(out, fin, flen);
	uLong one = crc32(0, zeros, (uInt)chunk), crc = one;
	for (size_t i = 1; i < reps; i++)
		crc = crc32_combine(crc, one, (z_off_t)chunk);
	unsigned long isize = (unsigned long)((reps * chunk) & 0xFFFFFFFFu);
	unsigned char trailer[8];
	for (int i = 0; i < 4; i++) {
		trailer[i] = (unsigned char)(crc >> (8 * i));
		trailer[4 + i] = (unsigned char)(isize >> (8 * i));
	}
	buf_append(out, trailer, 8);
	free(zeros);
}

TEST(gzip_bomb_is_refused_at_the_cap)
{
	struct buf bomb = BUF_INIT;
	make_bomb(&bomb, 1024); /* 1 GiB of zeros in about 1 MiB */
	ASSERT_TRUE(bomb.len < 2u * 1024 * 1024);

	/* The bomb is a valid gzip stream: a small one inflates to exactly its size with plain zlib. */
	struct buf small = BUF_INIT;
	make_bomb(&small, 2);
	z_stream zs = {0};
	ASSERT_INT_EQ(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
	unsigned char *out = xmalloc(3u << 20);
	zs.next_in = (unsigned char *)small.data;
	zs.avail_in = (uInt)small.len;
	zs.next_out = out;
	zs.avail_out = 3u << 20;
	ASSERT_INT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
	ASSERT_INT_EQ(zs.total_out, 2u << 20);
	inflateEnd(&zs);
	free(out);
	buf_free(&small);

	struct sitemap sm;
	ASSERT_INT_EQ(sitemap_parse(bomb.data, bomb.len, NULL, &sm), -1);
	ASSERT_STR_CONTAINS(sm.error, "exceeds");
	ASSERT_INT_EQ(sm.n, 0);
	sitemap_free(&sm);
	buf_free(&bomb);
}

TEST(oversized_input_is_refused)
{
	char *big = xcalloc(SITEMAP_MAX_BYTES + 1, 1);
	struct sitemap sm;
	ASSERT_INT_EQ(sitemap_parse(big, SITEMAP_MAX_BYTES + 1, NULL, &sm), -1);
	ASSERT_STR_CONTAINS(sm.error, "limit");
	sitemap_free(&sm);
	free(big);
}

TEST(url_count_is_capped)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "<urlset>");
	for (int i = 0; i <= SITEMAP_MAX_URLS; i++)
		buf_printf(&b, "<url><loc>https://example.com/p/%d</loc></url>\n", i);
	buf_puts(&b, "</urlset>");
	struct sitemap sm;
	ASSERT_INT_EQ(sitemap_parse(b.data, b.len, NULL, &sm), 0);
	ASSERT_TRUE(sm.truncated);
	ASSERT_INT_EQ(sm.n, SITEMAP_MAX_URLS);
	ASSERT_STR_EQ(url_at(&sm, SITEMAP_MAX_URLS - 1), "https://example.com/p/49999");
	sitemap_free(&sm);
	buf_free(&b);
}

TEST(entities_are_never_expanded)
{
	const char *dir = getenv("PGKB_TEST_DATA");
	char *xml = xasprintf("<?xml version=\"1.0\"?>\n"
	                      "<!DOCTYPE urlset [\n"
	                      "  <!ENTITY xxe SYSTEM \"file://%s/crawl/secret.txt\">\n"
	                      "  <!ENTITY net SYSTEM \"http://127.0.0.1:1/evil.xml\">\n"
	                      "  <!ENTITY internal \"https://internal.example/injected\">\n"
	                      "]>\n"
	                      "<urlset>\n"
	                      "  <url><loc>&xxe;</loc></url>\n"
	                      "  <url><loc>&net;</loc></url>\n"
	                      "  <url><loc>&internal;</loc></url>\n"
	                      "  <url><loc>https://docs.example.com/ok</loc></url>\n"
	                      "</urlset>\n",
	                      dir ? dir : "tests/data");
	struct sitemap sm;
	ASSERT_INT_EQ(sitemap_parse(xml, strlen(xml), NULL, &sm), 0);
	ASSERT_INT_EQ(sm.n, 1);
	ASSERT_STR_EQ(url_at(&sm, 0), "https://docs.example.com/ok");
	sitemap_free(&sm);
	free(xml);
}

TEST(billion_laughs_is_harmless)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "<?xml version=\"1.0\"?>\n<!DOCTYPE urlset [\n");
	buf_puts(&b, "<!ENTITY lol0 \"https://x.example/lol\">\n");
	for (int i = 1; i < 10; i++) {
		buf_printf(&b, "<!ENTITY lol%d \"", i);
		for (int j = 0; j < 10; j++)
			buf_printf(&b, "&lol%d;", i - 1);
		buf_puts(&b, "\">\n");
	}
	buf_puts(&b, "]>\n<urlset><url><loc>&lol9;</loc></url>");
	buf_puts(&b, "<url><loc>https://example.com/after</loc></url></urlset>");
	struct sitemap sm;
	sitemap_parse(b.data, b.len, NULL, &sm);
	for (size_t i = 0; i < sm.n; i++)
		ASSERT_TRUE(strstr(sm.entries[i].url, "lol") == NULL);
	sitemap_free(&sm);
	buf_free(&b);
}

TEST(not_a_sitemap)
{
	const char *html = "<!DOCTYPE html><html><body><a href=\"https://example.com/\">x</a></body></html>";
	struct sitemap sm;
	ASSERT_INT_EQ(sitemap_parse(html, strlen(html), NULL, &sm), -1);
	ASSERT_STR_CONTAINS(sm.error, "root element");
	sitemap_free(&sm);
	ASSERT_INT_EQ(sitemap_parse("<<<>>>", 6, NULL, &sm), -1);
	ASSERT_STR_CONTAINS(sm.error, "malformed");
	sitemap_free(&sm);
	const char *cut = "<urlset><url><loc>https://example.com/a</loc></url><url><loc>https://exa";
	ASSERT_INT_EQ(sitemap_parse(cut, strlen(cut), NULL, &sm), 0);
	ASSERT_INT_EQ(sm.n, 1);
	ASSERT_STR_CONTAINS(sm.error, "cut short");
	sitemap_free(&sm);
}

TEST(w3c_datetimes)
{
	ASSERT_INT_EQ(sitemap_parse_datetime("2024"), 1704067200);
	ASSERT_INT_EQ(sitemap_parse_datetime("2024-02"), 1706745600);
	ASSERT_INT_EQ(sitemap_parse_datetime(" 2024-01-15 "), 1705276800);
	ASSERT_INT_EQ(sitemap_parse_datetime("2024-01-15T08:00Z"), 1705305600);
	ASSERT_INT_EQ(sitemap_parse_datetime("2024-01-15T08:00:00.123Z"), 1705305600);
	ASSERT_INT_EQ(sitemap_parse_datetime("2024-01-15T10:00:00+02:00"), 1705305600);
	ASSERT_INT_EQ(sitemap_parse_datetime("2024-01-15T03:00:00-0500"), 1705305600);
	ASSERT_INT_EQ(sitemap_parse_datetime("2024-01-15 08:00:00"), 1705305600);
	ASSERT_INT_EQ(sitemap_parse_datetime("2024-13-01"), 0);
	ASSERT_INT_EQ(sitemap_parse_datetime("2024-04-31"), 0);
	ASSERT_INT_EQ(sitemap_parse_datetime("2024-01-15T25:00Z"), 0);
	ASSERT_INT_EQ(sitemap_parse_datetime("2024-01-15garbage"), 0);
	ASSERT_INT_EQ(sitemap_parse_datetime("1969-12-31"), 0);
	ASSERT_INT_EQ(sitemap_parse_datetime("yesterday"), 0);
	ASSERT_INT_EQ(sitemap_parse_datetime(""), 0);
	ASSERT_INT_EQ(sitemap_parse_datetime(NULL), 0);
}

/* An index of n sitemaps, plus one <loc> of long_len characters when long_len is not 0. */
static void make_index(struct buf *b, size_t n, size_t long_len)
{
	buf_printf(b, "<?xml version=\"1.0\"?>\n<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "<sitemap><loc>https://example.com/sm/%zu.xml.gz</loc></sitemap>\n", i);
	if (long_len) {
		buf_printf(b, "<sitemap><loc>https://example.com/");
		for (size_t i = 0; i < long_len; i++)
			buf_append(b, "a", 1);
		buf_printf(b, "</loc></sitemap>\n");
	}
	buf_printf(b, "</sitemapindex>\n");
}

/* The reader hands out a big index in slices of at most max_out entries, each step a bounded amount of work,
 * stops at max_entries (truncated), and counts a <loc> over URL_STORE_MAX_LEN instead of giving it out. */
TEST(reader_steps_are_bounded)
{
	struct buf x = BUF_INIT, gz = BUF_INIT;
	make_index(&x, 50000, 6000);
	gzip_append(&gz, x.data, x.len);
	for (int zipped = 0; zipped < 2; zipped++) {
		const struct buf *in = zipped ? &gz : &x;
		struct sitemap_reader *r = sitemap_reader_new(in->data, in->len, "https://example.com/sitemap.xml", 0);
		struct sitemap part = {0};
		size_t total = 0, steps = 0, biggest = 0;
		int rc;
		while ((rc = sitemap_reader_step(r, 1000, &part)) == 1) {
			steps++;
			total += part.n;
			biggest = part.n > biggest ? part.n : biggest;
			ASSERT_TRUE(part.is_index || total == 0);
		}
		ASSERT_INT_EQ(rc, 0);
		total += part.n;
		ASSERT_INT_EQ(total, 50000);
		ASSERT_TRUE(biggest <= 1000);
		ASSERT_TRUE(steps >= 50);
		ASSERT_INT_EQ(part.skipped_long, 1);
		ASSERT_TRUE(!part.truncated);
		sitemap_free(&part);
		sitemap_reader_free(r);

		r = sitemap_reader_new(in->data, in->len, NULL, 1500);
		total = 0;
		while ((rc = sitemap_reader_step(r, 1000, &part)) == 1)
			total += part.n;
		total += part.n;
		ASSERT_INT_EQ(rc, 0);
		ASSERT_INT_EQ(total, 1500);
		ASSERT_TRUE(part.truncated);
		sitemap_free(&part);
		sitemap_reader_free(r); /* also mid-file */
		r = sitemap_reader_new(in->data, in->len, NULL, 0);
		ASSERT_INT_EQ(sitemap_reader_step(r, 10, &part), 1);
		sitemap_free(&part);
		sitemap_reader_free(r);
	}
	buf_free(&x);
	buf_free(&gz);
}

/* sitemap_parse drops a long <loc> too, and a long line of a text sitemap, counting them. */
TEST(long_urls_skipped)
{
	struct buf x = BUF_INIT;
	make_index(&x, 3, 2100);
	struct sitemap sm;
	ASSERT_INT_EQ(sitemap_parse(x.data, x.len, NULL, &sm), 0);
	ASSERT_INT_EQ(sm.n, 3);
	ASSERT_INT_EQ(sm.skipped_long, 1);
	sitemap_free(&sm);
	buf_free(&x);
	buf_printf(&x, "https://example.com/a\nhttps://example.com/");
	for (int i = 0; i < 3000; i++)
		buf_append(&x, "b", 1);
	buf_printf(&x, "\nhttps://example.com/c\n");
	ASSERT_INT_EQ(sitemap_parse(x.data, x.len, NULL, &sm), 0);
	ASSERT_INT_EQ(sm.n, 2);
	ASSERT_INT_EQ(sm.skipped_long, 1);
	sitemap_free(&sm);
	buf_free(&x);
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
