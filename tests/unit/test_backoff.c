/* Unit tests: exponential backoff with jitter. */
#include "lib/util/backoff.h"
#include "testlib.h"

TEST(backoff_doubles_until_the_cap)
{
	/* rnd just under 1 gives the top of the window: base * 2^(n-1) */
	ASSERT_INT_EQ(backoff_ms(1, 1000, 60000, 0.999999), 999);
	ASSERT_INT_EQ(backoff_ms(2, 1000, 60000, 0.999999), 1999);
	ASSERT_INT_EQ(backoff_ms(4, 1000, 60000, 0.999999), 7999);
	ASSERT_INT_EQ(backoff_ms(30, 1000, 60000, 0.999999), 59999);
	ASSERT_INT_EQ(backoff_ms(1000, 1000, 60000, 0.5), 45000);
}

TEST(backoff_jitter_stays_in_the_upper_half)
{
	for (int a = 1; a < 20; a++) {
		int64_t lo = backoff_ms(a, 500, 30000, 0.0);
		int64_t hi = backoff_ms(a, 500, 30000, 0.999999);
		ASSERT_TRUE(lo >= 250 && hi <= 30000 && lo <= hi);
		ASSERT_TRUE(hi - lo <= lo + 1);
	}
}

TEST(backoff_handles_nonsense_inputs)
{
	ASSERT_INT_EQ(backoff_ms(0, 0, 0, -3), 1);
	ASSERT_TRUE(backoff_ms(-5, 100, 50, 7) <= 100);
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
