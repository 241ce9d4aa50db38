/* pgkb import sqlite: converting one source value (text, timestamp, JSON metadata), with the reason when it
 * cannot be. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/pgkb/cli_import.h"
#include "lib/text/utf8.h"
#include "lib/util/mem.h"

char *imp_check_text(const char *field, const char *s, size_t len)
{
	const char *nul = memchr(s, '\0', len);
	if (nul)
		return xasprintf("%s: NUL byte at offset %zu", field, (size_t)(nul - s));
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len((const unsigned char *)s + i, len - i);
		if (n == 0)
			return xasprintf("%s: invalid UTF-8 at byte %zu", field, i);
		i += n;
	}
	return NULL;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in(int y, int m)
{
	static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* Reads exactly n digits at *p. */
static bool digits(const char **p, const char *end, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (*p >= end || **p < '0' || **p > '9')
			return false;
		v = v * 10 + (**p - '0');
	}
	*out = v;
	return true;
}

int imp_parse_time_number(double v, char *out, size_t outsz)
{
	if (!isfinite(v))
		return -1;
	if (fabs(v) >= 1e11)
		v /= 1000; /* milliseconds, as JavaScript stores them */
	/* 1900-01-01 .. 2200-01-01 */
	if (v < -2208988800.0 || v >= 7258118400.0)
		return -1;
	double whole = floor(v);
	long usec = lround((v - whole) * 1e6);
	time_t t = (time_t)whole;
	if (usec >= 1000000) {
		t++;
		usec -= 1000000;
	}
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(out, outsz, "%04d-%02d-%02d %02d:%02d:%02d.%06ld+00:00", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
	return 0;
}

int imp_parse_time_text(const char *s, size_t len, char *out, size_t outsz)
{
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	if (len == 0 || len > 40)
		return -1;
	size_t nd = 0;
	while (nd < len && (s[nd] >= '0' && s[nd] <= '9'))
		nd++;
	if (nd == len || nd > 4) {
		/* a number (a date has 4 digits before its '-'): Unix seconds, or milliseconds */
		char buf[48], *e;
		memcpy(buf, s, len);
		buf[len] = '\0';
		double v = strtod(buf, &e);
		return *e == '\0' ? imp_parse_time_number(v, out, outsz) : -1;
	}
	const char *p = s, *end = s + len;
	int y, mo, d, h = 0, mi = 0, sec = 0;
	long usec = 0;
	if (!digits(&p, end, 4, &y) || p >= end || *p++ != '-' || !digits(&p, end, 2, &mo) || p >= end ||
	    *p++ != '-' || !digits(&p, end, 2, &d))
		return -1;
	if (p < end && (*p == ' ' || *p == 'T' || *p == 't')) {
		p++;
		if (!digits(&p, end, 2, &h) || p >= end || *p++ != ':' || !digits(&p, end, 2, &mi))
			return -1;
		if (p < end && *p == ':') {
			p++;
			if (!digits(&p, end, 2, &sec))
				return -1;
			if (p < end && (*p == '.' || *p == ',')) {
				p++;
				int nfrac = 0;
				long scale = 100000;
				for (; p < end && *p >= '0' && *p <= '9'; p++, nfrac++) {
					usec += (*p - '0') * scale;
					scale /= 10;
				}
				if (nfrac == 0)
					return -1;
			}
		}
	}
	int off_min = 0;
	if (p < end && (*p == 'Z' || *p == 'z')) {
		p++;
	} else if (p < end && (*p == '+' || *p == '-')) {
		int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
		if (!digits(&p, end, 2, &oh))
			return -1;
		if (p < end && *p == ':')
			p++;
		if (p < end && !digits(&p, end, 2, &om))
			return -1;
		if (oh > 14 || om > 59)
			return -1;
		off_min = sign * (oh * 60 + om);
	}
	if (p != end)
		return -1;
	if (y < 1900 || y >= 2200 || mo < 1 || mo > 12 || d < 1 || d > days_in(y, mo) || h > 23 || mi > 59 || sec > 59)
		return -1;
	snprintf(out, outsz, "%04d-%02d-%02d %02d:%02d:%02d.%06ld%c%02d:%02d", y, mo, d, h, mi, sec, usec,
	         off_min < 0 ? '-' : '+', abs(off_min) / 60, abs(off_min) % 60);
	return 0;
}

json_t *imp_parse_metadata(const char *s, size_t len, char **err)
{
	*err = NULL;
	if (!s || len == 0)
		return json_object();
	json_error_t je;
	json_t *v = json_loadb(s, len, JSON_REJECT_DUPLICATES, &je);
	if (!v) {
		*err = xasprintf("metadata: not JSON (%s at column %d)", je.text, je.column);
		return NULL;
	}
	if (!json_is_object(v)) {
		*err = xasprintf("metadata: JSON but not an object");
		json_decref(v);
		return NULL;
	}
	return v;
}
