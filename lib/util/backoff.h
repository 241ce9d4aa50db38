/* Retry delays: exponential backoff with jitter, for failed jobs and reconnects. */
#ifndef PGKB_BACKOFF_H
#define PGKB_BACKOFF_H

#include <stdint.h>

/* Delay in ms before retry number `attempt` (1 = first retry): base * 2^(attempt-1), capped at cap_ms, then
 * "equal jitter": half fixed, half uniformly random from rnd (a value in [0, 1)). Never below 1 ms, never
 * above cap_ms, monotone in attempt for the fixed half. */
int64_t backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms, double rnd);

#endif
