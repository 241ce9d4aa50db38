/* Unit tests: UTF-8 validation, repair and safe cut points. */
#include "testlib.h"
#include "lib/text/utf8.h"

#include <stdlib.h>

TEST(clean_text_is_clean)
{
	ASSERT_TRUE(utf8_is_clean("héllo wörld €", strlen("héllo wörld €")));
	ASSERT_TRUE(!utf8_is_clean("a\0b", 3));
	ASSERT_TRUE(!utf8_is_clean("\xC0\xAF", 2));         /* overlong '/' */
	ASSERT_TRUE(!utf8_is_clean("\xED\xA0\x80", 3));     /* surrogate */
	ASSERT_TRUE(!utf8_is_clean("\xF4\x90\x80\x80", 4)); /* past U+10FFFF */
	ASSERT_TRUE(!utf8_is_clean("\xE2\x82", 2));         /* truncated */
}

TEST(sanitize_replaces_invalid_and_drops_nul)
{
	struct buf b = BUF_INIT;
	size_t r = utf8_sanitize("a\xFF" "b\0c\xE2\x82", 7, &b);
	ASSERT_STR_EQ(buf_str(&b), "a\xEF\xBF\xBD" "bc\xEF\xBF\xBD\xEF\xBF\xBD");
	ASSERT_INT_EQ(r, 4);
	ASSERT_TRUE(utf8_is_clean(b.data, b.len));
	buf_free(&b);
}

TEST(floor_never_splits_a_sequence)
{
	const char *s = "a€b"; /* € is 3 bytes at offsets 1..3 */
	ASSERT_INT_EQ(utf8_floor(s, strlen(s), 2), 1);
	ASSERT_INT_EQ(utf8_floor(s, strlen(s), 3), 1);
	ASSERT_INT_EQ(utf8_floor(s, strlen(s), 4), 4);
	ASSERT_INT_EQ(utf8_floor(s, strlen(s), 99), 5);
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
