/* Unit tests: bytea hex decoding (lib/pg/pgbytea.c) accepts only the hex output format. */
#include "lib/pg/pgbytea.h"
#include "testlib.h"

#include <stdlib.h>

TEST(decodes_hex_output_with_embedded_nul)
{
	size_t len = 99;
	char *b = pg_bytea_decode("\\x41006aFF", &len);
	ASSERT_TRUE(b != NULL);
	ASSERT_INT_EQ(len, 4);
	if (b) {
		ASSERT_INT_EQ(memcmp(b, "A\0j\xff", 4), 0);
		ASSERT_INT_EQ(b[4], 0); /* NUL after the bytes, for text parsers */
	}
	free(b);
}

TEST(empty_value)
{
	size_t len = 99;
	char *b = pg_bytea_decode("\\x", &len);
	ASSERT_TRUE(b != NULL);
	ASSERT_INT_EQ(len, 0);
	free(b);
}

TEST(refuses_what_is_not_hex_format)
{
	static const char *const bad[] = {
		"4142",      /* no prefix */
		"\\\\x4142", /* escape format */
		"\\x414",    /* odd digits */
		"\\x41zz",   /* not hex */
		"\\x4 42",   /* space */
		"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		size_t len = 7;
		char *b = pg_bytea_decode(bad[i], &len);
		if (b)
			TEST_FAIL_AT("decoded \"%s\"", bad[i]);
		test_checks++;
		ASSERT_INT_EQ(len, 7); /* untouched */
		free(b);
	}
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
