/* Float vector literals: shortest round-trip float formatting without printf, and a strict parser. */
#include "lib/embed/vecfmt.h"

#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/mem.h"

/* 10^-54 .. 10^54: the scales (10^q and 10^-q) of every candidate for every float. */
static const double pow10_tab[] = {
	1e-54, 1e-53, 1e-52, 1e-51, 1e-50, 1e-49, 1e-48, 1e-47, 1e-46, 1e-45, 1e-44, 1e-43, 1e-42, 1e-41,
	1e-40, 1e-39, 1e-38, 1e-37, 1e-36, 1e-35, 1e-34, 1e-33, 1e-32, 1e-31, 1e-30, 1e-29, 1e-28, 1e-27,
	1e-26, 1e-25, 1e-24, 1e-23, 1e-22, 1e-21, 1e-20, 1e-19, 1e-18, 1e-17, 1e-16, 1e-15, 1e-14, 1e-13,
	1e-12, 1e-11, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1e0, 1e1, 1e2, 1e3,
	1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
	1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28, 1e29, 1e30, 1e31, 1e32, 1e33, 1e34, 1e35, 1e36,
	1e37, 1e38, 1e39, 1e40, 1e41, 1e42, 1e43, 1e44, 1e45, 1e46, 1e47, 1e48, 1e49, 1e50, 1e51, 1e52,
	1e53, 1e54,
};
#define POW10_MIN (-54)

static double pow10_of(int k)
{
	return pow10_tab[k - POW10_MIN];
}

/* The float's rounding interval and scale: any decimal strictly inside (lo, hi) reads back as v. */
struct fdec {
	double v, lo, hi, margin;
	bool even; /* the mantissa is even: the interval includes its boundaries */
	int e10; /* floor(log10(v)), possibly one too low at exact powers of ten (harmless) */
};

static float float_from_bits(uint32_t b)
{
	float f;
	memcpy(&f, &b, sizeof(f));
	return f;
}

static void fdec_init(struct fdec *d, float a)
{
	uint32_t bits;
	memcpy(&bits, &a, sizeof(bits));
	double v = a, prev = float_from_bits(bits - 1);
	d->v = v;
	d->even = (bits & 1) == 0;
	d->lo = (v + prev) / 2; /* exact: the sum of two adjacent floats fits in a double */
	if (bits + 1 >= 0x7F800000u)
		d->hi = v + (v - prev) / 2;
	else
		d->hi = (v + (double)float_from_bits(bits + 1)) / 2;
	/* Far above the few ulps of error of scaling and rescaling in double, far below a float's half gap. */
	d->margin = v * 0x1p-46;
	int be = (int)(bits >> 23) - 127; /* subnormals land low; the loops below correct the estimate */
	int e = be * 3 / 10;
	if (e < -46)
		e = -46;
	while (e + 1 <= 38 && v >= pow10_of(e + 1))
		e++;
	while (e > -46 && v < pow10_of(e))
		e--;
	d->e10 = e;
}

/* True when c * 10^-q lies safely inside the interval. An integer below 2^53 is computed exactly, so it may also
 * sit on a boundary, which reads back as v when v's mantissa is even (ties go to even). */
static bool fdec_inside(const struct fdec *d, uint64_t c, int q)
{
	double r = (double)c * pow10_of(-q); /* 10^-q is inexact for q > 0: within the margin */
	if (q <= 0 && q >= -22 && r < 0x1p53)
		return (r > d->lo && r < d->hi) || (d->even && (r == d->lo || r == d->hi));
	return r > d->lo + d->margin && r < d->hi - d->margin;
}

/* The nearest p-digit decimal (or its neighbour, for the lopsided interval at a power of two) that reads back
 * as v, in *c with scale *q; false when neither does. */
static bool fdec_try(const struct fdec *d, int p, uint64_t *c, int *q)
{
	int qq = p - 1 - d->e10;
	double s = d->v * pow10_of(qq);
	uint64_t fl = (uint64_t)s;
	uint64_t near = (s - (double)fl >= 0.5) ? fl + 1 : fl;
	uint64_t far = near == fl ? fl + 1 : fl;
	*q = qq;
	if (fdec_inside(d, near, qq)) {
		*c = near;
		return true;
	}
	if (far > 0 && fdec_inside(d, far, qq)) {
		*c = far;
		return true;
	}
	return false;
}

/* Writes digits c (no trailing zeros) with decimal exponent x (value = d.ddd * 10^x), the shorter notation. */
static size_t put_decimal(char *dst, uint64_t c, int x)
{
	char dig[24];
	int nd = 0;
	for (uint64_t t = c; t; t /= 10)
		nd++;
	for (int i = nd - 1; i >= 0; i--, c /= 10)
		dig[i] = (char)('0' + c % 10);
	int ax = x < 0 ? -x : x;
	int sci_len = nd + (nd > 1) + 1 + (x < 0) + (ax >= 10 ? 2 : 1);
	int fix_len = x >= 0 ? (nd > x + 1 ? nd + 1 : x + 1) : 1 + 1 + (-x - 1) + nd;
	char *p = dst;
	if (fix_len <= sci_len) {
		if (x < 0) {
			*p++ = '0';
			*p++ = '.';
			for (int i = 0; i < -x - 1; i++)
				*p++ = '0';
			memcpy(p, dig, (size_t)nd);
			p += nd;
		} else {
			for (int i = 0; i < nd || i <= x; i++) {
				if (i == x + 1)
					*p++ = '.';
				*p++ = i < nd ? dig[i] : '0';
			}
		}
	} else {
		*p++ = dig[0];
		if (nd > 1) {
			*p++ = '.';
			memcpy(p, dig + 1, (size_t)nd - 1);
			p += nd - 1;
		}
		*p++ = 'e';
		if (x < 0)
			*p++ = '-';
		if (ax >= 10)
			*p++ = (char)('0' + ax / 10);
		*p++ = (char)('0' + ax % 10);
	}
	*p = '\0';
	return (size_t)(p - dst);
}

size_t vecfmt_float(float f, char *dst)
{
	char *p = dst;
	if (!isfinite(f) || f == 0.0f) {
		if (signbit(f) && f == 0.0f)
			*p++ = '-';
		*p++ = '0';
		*p = '\0';
		return (size_t)(p - dst);
	}
	if (f < 0) {
		*p++ = '-';
		f = -f;
	}
	struct fdec d;
	fdec_init(&d, f);
	/* Smallest digit count that reads back: binary search over 1..9; 10 digits always do. */
	uint64_t c = 0, cc;
	int q = 0, qq, lo = 1, hi = 10;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (fdec_try(&d, mid, &cc, &qq)) {
			hi = mid;
			c = cc;
			q = qq;
		} else {
			lo = mid + 1;
		}
	}
	if (lo == 10) {
		q = 9 - d.e10;
		double s = d.v * pow10_of(q);
		c = (uint64_t)(s + 0.5);
	}
	int k = 0;
	while (c && c % 10 == 0) {
		c /= 10;
		k++;
	}
	int nd = 0;
	for (uint64_t t = c; t; t /= 10)
		nd++;
	return (size_t)(p - dst) + put_decimal(p, c, nd - 1 + k - q);
}

int vecfmt_append(struct buf *out, const float *v, size_t n, enum vecfmt_style style)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(v[i]))
			return -1;
	char chunk[4096];
	size_t used = 0;
	chunk[used++] = style == VECFMT_ARRAY ? '{' : '[';
	for (size_t i = 0; i < n; i++) {
		if (used > sizeof(chunk) - VECFMT_FLOAT_MAX - 2) {
			buf_append(out, chunk, used);
			used = 0;
		}
		if (i)
			chunk[used++] = ',';
		used += vecfmt_float(v[i], chunk + used);
	}
	chunk[used++] = style == VECFMT_ARRAY ? '}' : ']';
	buf_append(out, chunk, used);
	return 0;
}

char *vecfmt_format(const float *v, size_t n, enum vecfmt_style style)
{
	struct buf b = BUF_INIT;
	if (vecfmt_append(&b, v, n, style) < 0)
		return NULL;
	return buf_steal(&b);
}

/* ---- parsing ---- */

static bool is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of the decimal number at s[0..n) ([+-] digits [. digits] [e [+-] digits]), 0 when there is none. */
static size_t number_len(const char *s, size_t n)
{
	size_t i = 0, mant = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	for (; i < n && is_digit(s[i]); i++)
		mant++;
	if (i < n && s[i] == '.')
		for (i++; i < n && is_digit(s[i]); i++)
			mant++;
	if (!mant)
		return 0;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t j = i + 1;
		if (j < n && (s[j] == '+' || s[j] == '-'))
			j++;
		if (j >= n || !is_digit(s[j]))
			return 0;
		while (j < n && is_digit(s[j]))
			j++;
		i = j;
	}
	return i;
}

/* Converts a validated number token with '.' as the decimal point whatever the process locale. */
static int number_value(const char *tok, size_t n, locale_t c_locale, float *out)
{
	char tmp[130];
	if (n >= sizeof(tmp))
		return -1;
	memcpy(tmp, tok, n);
	tmp[n] = '\0';
	char *end;
	float f = c_locale ? strtof_l(tmp, &end, c_locale) : strtof(tmp, &end);
	if (end != tmp + n || !isfinite(f))
		return -1;
	*out = f;
	return 0;
}

static int parse_fail(char **err, float **out, size_t *n, locale_t loc, char *msg)
{
	*err = msg;
	free(*out);
	*out = NULL;
	*n = 0;
	if (loc)
		freelocale(loc);
	return -1;
}

int vecfmt_parse(const char *s, size_t len, float **out, size_t *n, char **err)
{
	size_t i = 0, cap = 0;
	*out = NULL;
	*n = 0;
	*err = NULL;
	while (i < len && is_space(s[i]))
		i++;
	if (i == len || (s[i] != '{' && s[i] != '['))
		return parse_fail(err, out, n, NULL, xasprintf("vector literal must start with '{' or '['"));
	char close = s[i] == '{' ? '}' : ']';
	locale_t loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	for (i++;;) {
		while (i < len && is_space(s[i]))
			i++;
		if (*n == 0 && i < len && s[i] == close)
			break;
		size_t l = number_len(s + i, len - i);
		float f;
		if (!l || number_value(s + i, l, loc, &f) < 0) {
			size_t show = 0;
			while (i + show < len && show < 40 && s[i + show] != ',' && s[i + show] != close)
				show++;
			return parse_fail(err, out, n, loc, xasprintf("element %zu: not a finite number: \"%.*s\"", *n + 1,
			                                              (int)show, s + i));
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*out = xrealloc(*out, cap * sizeof(**out));
		}
		(*out)[(*n)++] = f;
		for (i += l; i < len && is_space(s[i]); i++)
			;
		if (i < len && s[i] == ',') {
			i++;
			continue;
		}
		if (i < len && s[i] == close)
			break;
		return parse_fail(err, out, n, loc, xasprintf("element %zu: expected ',' or '%c'", *n, close));
	}
	for (i++; i < len && is_space(s[i]); i++)
		;
	if (i != len)
		return parse_fail(err, out, n, loc, xasprintf("unexpected text after the closing '%c'", close));
	if (loc)
		freelocale(loc);
	return 0;
}
