/* Durations: parsing "1h30m"-style strings into milliseconds and formatting them back. */
#include "lib/util/duration.h"

#include <stdio.h>
#include <string.h>

struct duration_unit {
	const char *name;
	int64_t ms;
};

/* Longest first, and "ms" before "m" so that the longer suffix wins. */
static const struct duration_unit duration_units[] = {
	{"d", 86400000}, {"h", 3600000}, {"ms", 1}, {"m", 60000}, {"s", 1000},
};
#define DURATION_NUNITS (sizeof duration_units / sizeof duration_units[0])

/* Reads the unsigned decimal integer at *p into *v; returns -1 on no digits or overflow. */
static int read_uint(const char **p, int64_t *v)
{
	const char *s = *p;
	int64_t n = 0;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		int d = *s - '0';
		if (n > (INT64_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*p = s;
	*v = n;
	return 0;
}

static const struct duration_unit *read_unit(const char **p)
{
	for (size_t i = 0; i < DURATION_NUNITS; i++) {
		size_t n = strlen(duration_units[i].name);
		if (strncmp(*p, duration_units[i].name, n) == 0) {
			*p += n;
			return &duration_units[i];
		}
	}
	return NULL;
}

int duration_parse(const char *s, int64_t *ms)
{
	const char *p = s;
	int64_t total = 0, n;
	int64_t last_unit = INT64_MAX; /* units must strictly decrease: no "5m1h", no "1s1s" */
	if (!s || read_uint(&p, &n) != 0)
		return -1;
	if (*p == '\0') { /* a plain integer means seconds */
		if (n > INT64_MAX / 1000)
			return -1;
		*ms = n * 1000;
		return 0;
	}
	for (;;) {
		const struct duration_unit *u = read_unit(&p);
		if (!u || u->ms >= last_unit)
			return -1;
		last_unit = u->ms;
		if (n > INT64_MAX / u->ms || total > INT64_MAX - n * u->ms)
			return -1;
		total += n * u->ms;
		if (*p == '\0')
			break;
		if (read_uint(&p, &n) != 0)
			return -1;
	}
	*ms = total;
	return 0;
}

char *duration_format(int64_t ms, char out[DURATION_FMT_MAX])
{
	static const struct duration_unit order[] = {
		{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1},
	};
	size_t len = 0;
	uint64_t rest;
	if (ms == 0) {
		snprintf(out, DURATION_FMT_MAX, "0s");
		return out;
	}
	if (ms < 0) {
		out[len++] = '-';
		rest = (uint64_t)(-(ms + 1)) + 1; /* no overflow for INT64_MIN */
	} else {
		rest = (uint64_t)ms;
	}
	out[len] = '\0';
	for (size_t i = 0; i < sizeof order / sizeof order[0] && rest; i++) {
		uint64_t q = rest / (uint64_t)order[i].ms;
		if (!q)
			continue;
		rest -= q * (uint64_t)order[i].ms;
		len += (size_t)snprintf(out + len, DURATION_FMT_MAX - len, "%llu%s", (unsigned long long)q, order[i].name);
	}
	return out;
}
