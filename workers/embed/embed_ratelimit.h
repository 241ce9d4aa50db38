/* Per-provider rate limit (requests and tokens per minute) shared by every embed worker on one host. */
#ifndef PGKB_EMBED_RATELIMIT_H
#define PGKB_EMBED_RATELIMIT_H

#include <stdint.h>

/* Two token buckets, refilled continuously at limit/60 s per second and holding at most EMBED_RL_BURST_S
 * seconds of budget, plus a shared pause (a provider's Retry-After). This struct is the whole state; it lives
 * in a small file mapped by every process (see embed_rl_open). */
#define EMBED_RL_BURST_S 10

struct embed_rl_state {
	uint32_t magic;
	uint32_t version;
	double req_avail;       /* requests that may start now */
	double tok_avail;       /* estimated tokens that may be sent now */
	int64_t last_ns;        /* CLOCK_MONOTONIC of the last refill (system-wide, so comparable across processes) */
	int64_t pause_until_ns; /* nobody starts a request before this */
};

/* Pure bucket arithmetic, for the file-backed limiter and the unit tests. Refills s up to now_ns, then either
 * takes one request and `tokens` tokens (capped at the bucket size, so an oversized request still passes once
 * the bucket is full) and returns 0, or takes nothing and returns the milliseconds (>= 1) until it could.
 * rpm / tpm of 0 mean unlimited. */
int64_t embed_rl_take(struct embed_rl_state *s, int rpm, int tpm, int64_t tokens, int64_t now_ns);

/* The largest token count one request should carry under tpm (the bucket size), or 0 when unlimited. */
int64_t embed_rl_max_tokens(int tpm);

struct embed_rl;

/* Opens (creating when needed) the limiter shared by processes that pass the same key (provider and base URL),
 * in $PGKB_RATELIMIT_DIR, else /dev/shm, else /tmp. Returns NULL when rpm and tpm are both 0 (no limit).
 * On failure logs why and returns NULL too: requests then go unlimited rather than not at all. */
struct embed_rl *embed_rl_open(const char *key, int rpm, int tpm);
/* embed_rl_take on the shared state under an exclusive flock. NULL rl: always 0. */
int64_t embed_rl_acquire(struct embed_rl *rl, int64_t tokens);
/* Makes every process wait at least ms before its next request (a 429's Retry-After). */
void embed_rl_pause(struct embed_rl *rl, int64_t ms);
/* The path of the shared file (for logs and tests); "" for NULL. */
const char *embed_rl_path(const struct embed_rl *rl);
void embed_rl_close(struct embed_rl *rl);

#endif
