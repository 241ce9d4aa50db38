/* Unit tests: the crawl's media classes and the body cap each Content-Type is fetched within. */
#include "workers/crawl/fetch_media.h"
#include "testlib.h"

#include <string.h>

static void caps(struct cfg *c)
{
	memset(c, 0, sizeof *c);
	c->fetch_max_bytes = 10000;
	c->max_pdf_bytes = 50000;
	c->max_office_bytes = 30000;
	fetch_media_configure(c);
}

TEST(types_fall_into_their_classes)
{
	ASSERT_INT_EQ(fetch_media_class("text/html"), FETCH_MEDIA_TEXT);
	ASSERT_INT_EQ(fetch_media_class("text/markdown"), FETCH_MEDIA_TEXT);
	ASSERT_INT_EQ(fetch_media_class("application/pdf"), FETCH_MEDIA_PDF);
	ASSERT_INT_EQ(fetch_media_class("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
	              FETCH_MEDIA_OFFICE);
	ASSERT_INT_EQ(fetch_media_class("application/vnd.oasis.opendocument.presentation"), FETCH_MEDIA_OFFICE);
	ASSERT_INT_EQ(fetch_media_class("application/epub+zip"), FETCH_MEDIA_OFFICE);
	ASSERT_INT_EQ(fetch_media_class("application/octet-stream"), FETCH_MEDIA_GENERIC);
	ASSERT_INT_EQ(fetch_media_class(""), FETCH_MEDIA_GENERIC);
	ASSERT_INT_EQ(fetch_media_class("image/png"), FETCH_MEDIA_OTHER);
	ASSERT_INT_EQ(fetch_media_class("application/msword"), FETCH_MEDIA_OTHER); /* the old binary format: not read */
}

/* The cap follows the Content-Type (parameters and case ignored); a generic type may be either document kind. */
TEST(each_type_has_its_cap_and_key)
{
	struct cfg c;
	caps(&c);
	ASSERT_INT_EQ(fetch_media_max_cap(), 50000);
	ASSERT_INT_EQ(fetch_media_cap("text/html; charset=utf-8"), 10000);
	ASSERT_INT_EQ(fetch_media_cap("image/png"), 10000);
	ASSERT_INT_EQ(fetch_media_cap(" Application/PDF"), 50000);
	ASSERT_INT_EQ(fetch_media_cap("application/vnd.oasis.opendocument.text"), 30000);
	ASSERT_INT_EQ(fetch_media_cap("application/octet-stream"), 50000);
	ASSERT_INT_EQ(fetch_media_cap(NULL), 50000);
	ASSERT_STR_EQ(fetch_media_cap_key("text/html"), "crawl.max_bytes");
	ASSERT_STR_EQ(fetch_media_cap_key("application/pdf"), "ingest.max_pdf_bytes");
	ASSERT_STR_EQ(fetch_media_cap_key("application/epub+zip"), "ingest.max_office_bytes");
	c.fetch_max_bytes = 90000; /* a page bound above the documents' is the largest cap */
	fetch_media_configure(&c);
	ASSERT_INT_EQ(fetch_media_max_cap(), 90000);
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
