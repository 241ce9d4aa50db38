/* Unit tests: hostile documents (tests/data/docs/hostile, made by make_hostile.py) and damaged fixtures give
 * a clear status and reason within bounded time and memory: zip bombs by declared and by actual size, per
 * entry and in total, too many entries, a zip nested in an EPUB, XXE, billion laughs, deep nesting,
 * truncation and flipped bytes; and the converter's result record refuses what a broken child could send. */
#include "testlib.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/doc/doc.h"
#include "lib/doc/doc_int.h"
#include "lib/doc/docmd.h"
#include "lib/doc/docwire.h"
#include "lib/doc/docxml.h"
#include "lib/util/buf.h"
#include "lib/util/mem.h"

static char *fixture(const char *name, size_t *len)
{
	const char *env = getenv("PGKB_TEST_DATA"), *slash = strrchr(__FILE__, '/');
	int dirlen = slash ? (int)(slash - __FILE__) : 1;
	char *path = env ? xasprintf("%s/docs/%s", env, name)
	                 : xasprintf("%.*s/../data/docs/%s", dirlen, slash ? __FILE__ : ".", name);
	FILE *f = fopen(path, "rb");
	free(path);
	if (!f)
		return NULL;
	struct buf b = BUF_INIT;
	char tmp[65536];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	*len = b.len;
	return buf_steal(&b);
}

/* The bounds the corpus is sized for: small, so the bombs stay a few KiB on disk. */
static const struct doc_limits SMALL = {.max_entry_bytes = 1 << 20, .max_total_bytes = 4 << 20, .max_entries = 100};

struct outcome {
	enum doc_status st;
	char *err;
	char *markdown;
	double secs;
};

static struct outcome run(const char *name, const struct doc_limits *lim)
{
	size_t len = 0;
	char *data = fixture(name, &len);
	struct outcome o = {DOC_FAILED, NULL, NULL, 0};
	ASSERT_TRUE(data != NULL);
	if (!data)
		return o;
	struct doc_text d;
	clock_t t0 = clock();
	o.st = doc_extract(data, len, lim, &d, &o.err);
	o.secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	if (o.st == DOC_OK) {
		o.markdown = d.markdown;
		d.markdown = NULL;
		doc_text_free(&d);
		ASSERT_TRUE(o.err == NULL);
	} else {
		ASSERT_TRUE(o.err && *o.err); /* every failure has a reason */
		ASSERT_TRUE(d.markdown == NULL);
	}
	free(data);
	return o;
}

static void done(struct outcome *o)
{
	free(o->err);
	free(o->markdown);
}

TEST(zip_bomb_by_declared_size)
{
	struct outcome o = run("hostile/bomb_entry.docx", &SMALL);
	ASSERT_INT_EQ(o.st, DOC_TOO_LARGE);
	ASSERT_STR_CONTAINS(o.err, "word/document.xml declares 4194");
	ASSERT_STR_CONTAINS(o.err, "limit 1048576 per entry");
	done(&o);
	/* within the default bounds the same file is just a large document */
	o = run("hostile/bomb_entry.docx", NULL);
	ASSERT_INT_EQ(o.st, DOC_OK);
	done(&o);
}

TEST(zip_bomb_with_lying_headers_stops_at_the_bound)
{
	struct outcome o = run("hostile/bomb_lying.docx", &SMALL);
	ASSERT_INT_EQ(o.st, DOC_TOO_LARGE);
	ASSERT_STR_CONTAINS(o.err, "inflates past 1048576 bytes");
	ASSERT_TRUE(o.secs < 2.0);
	done(&o);
}

TEST(zip_bomb_in_total)
{
	struct outcome o = run("hostile/bomb_total.epub", &SMALL);
	ASSERT_INT_EQ(o.st, DOC_TOO_LARGE);
	ASSERT_STR_CONTAINS(o.err, "4194304 in all");
	done(&o);
}

TEST(too_many_entries)
{
	struct outcome o = run("hostile/many_entries.docx", &SMALL);
	ASSERT_INT_EQ(o.st, DOC_TOO_LARGE);
	ASSERT_STR_CONTAINS(o.err, "zip has 152 entries (limit 100)");
	done(&o);
}

TEST(nested_zip_is_never_opened)
{
	struct outcome o = run("hostile/nested_zip.epub", &SMALL);
	ASSERT_INT_EQ(o.st, DOC_OK);
	ASSERT_STR_EQ(o.markdown, "# Outer\n\nouter text");
	done(&o);
}

TEST(xxe_is_refused)
{
	struct outcome o = run("hostile/xxe_file.docx", NULL);
	ASSERT_INT_EQ(o.st, DOC_MALFORMED);
	ASSERT_STR_CONTAINS(o.err, "word/document.xml: XML with a DTD or entities is refused");
	ASSERT_TRUE(strstr(o.err, "root:") == NULL);
	done(&o);
	o = run("hostile/xxe_url.docx", NULL);
	ASSERT_INT_EQ(o.st, DOC_MALFORMED);
	ASSERT_STR_CONTAINS(o.err, "DTD");
	done(&o);
}

TEST(billion_laughs_is_refused_quickly)
{
	struct outcome o = run("hostile/laughs.docx", NULL);
	ASSERT_INT_EQ(o.st, DOC_MALFORMED);
	ASSERT_STR_CONTAINS(o.err, "word/document.xml");
	ASSERT_TRUE(o.secs < 1.0);
	done(&o);
}

TEST(deep_nesting_is_bounded)
{
	struct outcome o = run("hostile/deep.docx", NULL);
	ASSERT_TRUE(o.st == DOC_MALFORMED || o.st == DOC_TOO_LARGE);
	ASSERT_STR_CONTAINS(o.err, "depth");
	done(&o);
	struct doc_limits shallow = {.max_xml_depth = 4};
	o = run("sample.docx", &shallow);
	ASSERT_INT_EQ(o.st, DOC_TOO_LARGE);
	ASSERT_STR_CONTAINS(o.err, "nested deeper than 4 elements");
	done(&o);
}

/* Lists nested deeper than the readers track (ODF keeps ten levels) stay in bounds: deeper items share the
 * deepest level's marker. */
TEST(lists_nested_past_the_tracked_depth)
{
	struct buf x = BUF_INIT;
	buf_puts(&x, "<office:document-content xmlns:office=\"" NS_OFFICE "\" xmlns:text=\"" NS_TEXT "\">"
	              "<office:body><office:text>");
	for (int i = 0; i < 14; i++)
		buf_puts(&x, "<text:list><text:list-item><text:p>item</text:p>");
	for (int i = 0; i < 14; i++)
		buf_puts(&x, "</text:list-item></text:list>");
	buf_puts(&x, "</office:text></office:body></office:document-content>");
	struct doc_limits lim = {0};
	doc_limits_default(&lim);
	struct docmd m;
	docmd_init(&m, 1 << 20);
	char *err = NULL;
	ASSERT_INT_EQ(odf_content_xml(x.data, x.len, &lim, &m, &err), DOC_OK);
	struct doc_text d = {0};
	docmd_finish(&m, &d);
	ASSERT_STR_CONTAINS(d.markdown, "- item\n  - item\n");
	ASSERT_STR_CONTAINS(d.markdown, "                - item\n                - item"); /* depth 8 and on */
	doc_text_free(&d);
	buf_free(&x);
}

/* The reader on its own: an internal subset is refused before any entity is referenced, with no file or
 * network access (the parser options are tested here, not only the outcome through a DOCX). */
TEST(xml_reader_options)
{
	struct doc_limits lim = {0};
	doc_limits_default(&lim);
	const char *cases[] = {
		"<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY e SYSTEM \"file:///etc/hostname\">]><r>&e;</r>",
		"<?xml version=\"1.0\"?><!DOCTYPE r SYSTEM \"http://127.0.0.1:1/x.dtd\"><r/>",
		"<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY % p SYSTEM \"file:///etc/hostname\"> %p;]><r/>",
		"<r><unclosed></r>",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct docxml x;
		docxml_open(&x, cases[i], strlen(cases[i]), "case", &lim);
		int rc, texts = 0;
		while ((rc = docxml_next(&x)) == 1)
			texts += x.node == DOCXML_TEXT;
		ASSERT_INT_EQ(rc, -1);
		ASSERT_INT_EQ(texts, 0);
		char *err = NULL;
		ASSERT_INT_EQ(docxml_take_error(&x, &err), DOC_MALFORMED);
		ASSERT_STR_CONTAINS(err, "case: ");
		free(err);
		docxml_close(&x);
	}
	/* predefined entities and character references are plain XML and still read */
	const char *ok = "<r>a &amp; b &#x41;</r>";
	struct docxml x;
	docxml_open(&x, ok, strlen(ok), "ok", &lim);
	struct buf t = BUF_INIT;
	while (docxml_next(&x) == 1)
		if (x.node == DOCXML_TEXT)
			buf_puts(&t, docxml_text(&x));
	ASSERT_STR_EQ(buf_str(&t), "a & b A");
	buf_free(&t);
	docxml_close(&x);
}

TEST(truncated_and_corrupt_containers)
{
	const char *names[] = {"sample.docx", "sample.odt", "sample.pptx", "sample.odp", "sample.epub"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t len;
		char *data = fixture(names[i], &len);
		/* cut anywhere, a zip loses its central directory: never readable */
		for (size_t k = 1; k < 8; k++) {
			struct doc_text d;
			char *err = NULL;
			enum doc_status st = doc_extract(data, len * k / 8, NULL, &d, &err);
			ASSERT_TRUE(st == DOC_MALFORMED || st == DOC_UNSUPPORTED);
			ASSERT_TRUE(err && *err);
			free(err);
		}
		/* flipped bytes: a CRC or inflate error, or text; never a crash (this runs under ASan too) */
		for (size_t k = 0; k < 64; k++) {
			char *copy = xmalloc(len);
			memcpy(copy, data, len);
			size_t at = (k * 2654435761u) % len;
			copy[at] ^= (char)(0x5a + k);
			struct doc_text d;
			char *err = NULL;
			if (doc_extract(copy, len, NULL, &d, &err) == DOC_OK)
				doc_text_free(&d);
			else
				ASSERT_TRUE(err && *err);
			free(err);
			free(copy);
		}
		free(data);
	}
}

TEST(input_size_bounds)
{
	size_t len;
	char *data = fixture("sample.docx", &len);
	struct doc_limits lim = {.max_zip_bytes = 1000};
	struct doc_text d;
	char *err = NULL;
	ASSERT_INT_EQ(doc_extract(data, len, &lim, &d, &err), DOC_TOO_LARGE);
	ASSERT_STR_CONTAINS(err, "limit 1000");
	free(err);
	free(data);
	data = fixture("manual.pdf", &len);
	struct doc_limits plim = {.max_pdf_bytes = 1000};
	ASSERT_INT_EQ(doc_extract(data, len, &plim, &d, &err), DOC_TOO_LARGE);
	ASSERT_STR_CONTAINS(err, "PDF is");
	free(err);
	free(data);
}

/* ---- the result record ------------------------------------------------------------------ */

static void encode_sample(struct buf *b)
{
	size_t pages[] = {0, 4};
	struct doc_text d = {DOC_FORMAT_PDF, (char *)"T", (char *)"A", (char *)"abcdefgh", 8, pages, 2, false};
	docwire_encode(DOC_OK, NULL, &d, b);
}

TEST(result_record_round_trip_and_refusals)
{
	struct buf b = BUF_INIT;
	encode_sample(&b);
	enum doc_status st;
	char *reason;
	struct doc_text d;
	ASSERT_INT_EQ(docwire_decode(b.data, b.len, &st, &reason, &d), 0);
	ASSERT_INT_EQ(st, DOC_OK);
	ASSERT_STR_EQ(d.markdown, "abcdefgh");
	ASSERT_INT_EQ(d.npages, 2);
	ASSERT_INT_EQ(d.page_start[1], 4);
	doc_text_free(&d);
	/* every cut is refused */
	for (size_t cut = 0; cut < b.len; cut++)
		ASSERT_INT_EQ(docwire_decode(b.data, cut, &st, &reason, &d), -1);
	/* a page past the text, pages going back, bad UTF-8, a huge length */
	size_t pages_at = b.len - 16;
	struct buf c = BUF_INIT;
	buf_append(&c, b.data, b.len);
	size_t bad = 9;
	memcpy(c.data + pages_at + 8, &bad, 8);
	ASSERT_INT_EQ(docwire_decode(c.data, c.len, &st, &reason, &d), -1);
	memcpy(c.data, b.data, b.len);
	size_t first = 5;
	memcpy(c.data + pages_at, &first, 8);
	ASSERT_INT_EQ(docwire_decode(c.data, c.len, &st, &reason, &d), -1);
	memcpy(c.data, b.data, b.len);
	c.data[pages_at - 1] = (char)0xff; /* the last byte of the text */
	ASSERT_INT_EQ(docwire_decode(c.data, c.len, &st, &reason, &d), -1);
	memcpy(c.data, b.data, b.len);
	size_t huge = (size_t)-8;
	memcpy(c.data + 40 + 24, &huge, 8);
	ASSERT_INT_EQ(docwire_decode(c.data, c.len, &st, &reason, &d), -1);
	buf_free(&c);
	buf_free(&b);
	/* a failure carries its reason */
	docwire_encode(DOC_ENCRYPTED, "encrypted PDF", NULL, &b);
	ASSERT_INT_EQ(docwire_decode(b.data, b.len, &st, &reason, &d), 0);
	ASSERT_INT_EQ(st, DOC_ENCRYPTED);
	ASSERT_STR_EQ(reason, "encrypted PDF");
	free(reason);
	buf_free(&b);
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
