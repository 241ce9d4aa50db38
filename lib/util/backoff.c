/* Retry delays: exponential backoff with jitter. */
#include "lib/util/backoff.h"

int64_t backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms, double rnd)
{
	if (attempt < 1)
		attempt = 1;
	if (base_ms < 1)
		base_ms = 1;
	if (cap_ms < base_ms)
		cap_ms = base_ms;
	int64_t d = base_ms;
	for (int i = 1; i < attempt && d < cap_ms; i++)
		d *= 2;
	if (d > cap_ms)
		d = cap_ms;
	if (rnd < 0)
		rnd = 0;
	if (rnd >= 1)
		rnd = 0.999999;
	int64_t half = d / 2;
	int64_t out = half + (int64_t)((double)(d - half) * rnd);
	return out < 1 ? 1 : out;
}
