/* Text measures shared by chunking and code extraction: code points, words, safe cut points. */
#ifndef PGKB_TEXTSTATS_H
#define PGKB_TEXTSTATS_H

#include <stdbool.h>
#include <stddef.h>

/* Number of Unicode code points in the UTF-8 text s[0..n) (continuation bytes are not counted). */
size_t textstats_chars(const char *s, size_t n);
/* Number of words in s[0..n): runs of characters between ASCII whitespace; each CJK ideograph, kana or
 * hangul syllable counts as a word of its own, since those scripts do not separate words by spaces. */
size_t textstats_words(const char *s, size_t n);
/* Byte offset reached by advancing at most `chars` code points from s (never past n). */
size_t textstats_advance(const char *s, size_t n, size_t chars);
/* True for the ASCII whitespace bytes space, tab, newline, carriage return, form feed and vertical tab. */
static inline bool textstats_is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

#endif
