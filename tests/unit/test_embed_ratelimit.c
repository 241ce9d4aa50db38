/* Unit tests: the embed rate limiter's token buckets and their sharing through the mapped file. */
#include <stdlib.h>
#include <unistd.h>

#include "workers/embed/embed_ratelimit.h"
#include "testlib.h"

#define S 1000000000LL

TEST(rl_burst_then_steady_rate)
{
	struct embed_rl_state s = {0};
	/* 60 requests per minute: a burst of 10 (EMBED_RL_BURST_S), then one per second */
	for (int i = 0; i < 10; i++)
		ASSERT_INT_EQ(embed_rl_take(&s, 60, 0, 0, 100 * S), 0);
	int64_t wait = embed_rl_take(&s, 60, 0, 0, 100 * S);
	ASSERT_TRUE(wait >= 999 && wait <= 1001);
	ASSERT_TRUE(embed_rl_take(&s, 60, 0, 0, 100 * S + S / 2) > 0);
	ASSERT_INT_EQ(embed_rl_take(&s, 60, 0, 0, 101 * S), 0);
	/* a long idle time refills only up to the burst */
	int granted = 0;
	while (embed_rl_take(&s, 60, 0, 0, 1000 * S) == 0)
		granted++;
	ASSERT_INT_EQ(granted, 10);
}

TEST(rl_tokens_per_minute)
{
	struct embed_rl_state s = {0};
	/* 6,000 tokens per minute: bucket 1,000, refilled at 100 per second */
	ASSERT_INT_EQ(embed_rl_max_tokens(6000), 1000);
	ASSERT_INT_EQ(embed_rl_take(&s, 0, 6000, 800, 5 * S), 0);
	int64_t wait = embed_rl_take(&s, 0, 6000, 500, 5 * S); /* 200 left, 300 missing: 3 s */
	ASSERT_TRUE(wait >= 3000 && wait <= 3001);
	ASSERT_INT_EQ(embed_rl_take(&s, 0, 6000, 500, 8 * S + S / 100), 0);
	/* a request above the bucket size passes once the bucket is full, instead of never */
	ASSERT_INT_EQ(embed_rl_take(&s, 0, 6000, 50000, 100 * S), 0);
	ASSERT_TRUE(embed_rl_take(&s, 0, 6000, 1, 100 * S) > 0);
}

TEST(rl_unlimited_and_clock_going_back)
{
	struct embed_rl_state s = {0};
	for (int i = 0; i < 1000; i++)
		ASSERT_INT_EQ(embed_rl_take(&s, 0, 0, 100000, 7 * S), 0);
	struct embed_rl_state t = {0};
	for (int i = 0; i < 10; i++)
		embed_rl_take(&t, 60, 0, 0, 50 * S);
	ASSERT_TRUE(embed_rl_take(&t, 60, 0, 0, 50 * S) > 0);
	/* a state older than the clock (a file in /tmp surviving a reboot) starts afresh */
	ASSERT_INT_EQ(embed_rl_take(&t, 60, 0, 0, 1 * S), 0);
}

TEST(rl_shared_between_handles_and_paused)
{
	char dir[] = "/tmp/pgkb-rl-test.XXXXXX";
	ASSERT_TRUE(mkdtemp(dir) != NULL);
	setenv("PGKB_RATELIMIT_DIR", dir, 1);
	ASSERT_TRUE(embed_rl_open("openai http://x/v1/embeddings", 0, 0) == NULL);
	struct embed_rl *a = embed_rl_open("openai http://x/v1/embeddings", 60, 0);
	struct embed_rl *b = embed_rl_open("openai http://x/v1/embeddings", 60, 0);
	struct embed_rl *other = embed_rl_open("ollama http://y/api/embed", 60, 0);
	ASSERT_TRUE(a && b && other);
	ASSERT_STR_EQ(embed_rl_path(a), embed_rl_path(b));
	ASSERT_TRUE(strcmp(embed_rl_path(a), embed_rl_path(other)) != 0);
	int granted = 0;
	for (int i = 0; i < 6; i++)
		granted += embed_rl_acquire(a, 0) == 0;
	for (int i = 0; i < 6; i++)
		granted += embed_rl_acquire(b, 0) == 0;
	ASSERT_INT_EQ(granted, 10); /* one budget for both handles */
	ASSERT_INT_EQ(embed_rl_acquire(other, 0), 0);
	embed_rl_pause(other, 5000);
	int64_t w = embed_rl_acquire(other, 0);
	ASSERT_TRUE(w > 4900 && w <= 5000);
	unlink(embed_rl_path(a));
	unlink(embed_rl_path(other));
	embed_rl_close(a);
	embed_rl_close(b);
	embed_rl_close(other);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
