/* UTF-8 validation and repair. */
#include "lib/text/utf8.h"

size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned cp;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

bool utf8_is_clean(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		if (p[i] == 0)
			return false;
		size_t l = utf8_seq_len(p + i, n - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

size_t utf8_sanitize(const char *s, size_t n, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t repairs = 0, i = 0, run = 0;
	while (i < n) {
		size_t l = p[i] ? utf8_seq_len(p + i, n - i) : 0;
		if (l) {
			i += l;
			continue;
		}
		buf_append(out, s + run, i - run);
		if (p[i])
			buf_append(out, "\xEF\xBF\xBD", 3);
		repairs++;
		i++;
		run = i;
	}
	buf_append(out, s + run, n - run);
	return repairs;
}

char *utf8_clean_dup(const char *s, size_t n)
{
	struct buf b = BUF_INIT;
	utf8_sanitize(s, n, &b);
	return buf_steal(&b);
}

size_t utf8_floor(const char *s, size_t len, size_t pos)
{
	if (pos >= len)
		return len;
	while (pos > 0 && ((unsigned char)s[pos] & 0xC0) == 0x80)
		pos--;
	return pos;
}
