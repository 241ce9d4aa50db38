/* Code point and word counts over UTF-8 text. */
#include "lib/text/textstats.h"

size_t textstats_chars(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t count = 0;
	for (size_t i = 0; i < n; i++)
		count += (p[i] & 0xC0) != 0x80;
	return count;
}

/* Decodes the (assumed valid) sequence at p; returns its length and stores the code point. */
static size_t decode(const unsigned char *p, size_t n, unsigned *cp)
{
	if (p[0] < 0x80 || n < 2) {
		*cp = p[0];
		return 1;
	}
	if (p[0] < 0xE0) {
		*cp = ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu);
		return 2;
	}
	if (p[0] < 0xF0 || n < 4) {
		*cp = n < 3 ? 0xFFFD : ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
		return n < 3 ? n : 3;
	}
	*cp = ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
	return 4;
}

static bool is_cjk(unsigned cp)
{
	return (cp >= 0x2E80 && cp <= 0x9FFF) || (cp >= 0xAC00 && cp <= 0xD7AF) ||
	       (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x3FFFF);
}

size_t textstats_words(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t words = 0, i = 0;
	bool in_word = false;
	while (i < n) {
		if (p[i] < 0x80) {
			bool space = textstats_is_space(p[i]);
			if (!space && !in_word)
				words++;
			in_word = !space;
			i++;
			continue;
		}
		unsigned cp;
		i += decode(p + i, n - i, &cp);
		if (is_cjk(cp)) {
			words++;
			in_word = false;
		} else if (!in_word) {
			words++;
			in_word = true;
		}
	}
	return words;
}

size_t textstats_advance(const char *s, size_t n, size_t chars)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		if ((p[i] & 0xC0) != 0x80) {
			if (chars == 0)
				break;
			chars--;
		}
		i++;
	}
	return i;
}
