/* UTF-8 validation and repair: text bound for a Postgres text column is valid UTF-8 without NUL bytes. */
#ifndef PGKB_UTF8_H
#define PGKB_UTF8_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/util/buf.h"

/* True when s[0..n) is valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF) with no NUL. */
bool utf8_is_clean(const char *s, size_t n);
/* Appends s[0..n) to out with each invalid sequence replaced by U+FFFD and NUL bytes dropped.
 * Returns the number of repairs made (0 when the input was clean). */
size_t utf8_sanitize(const char *s, size_t n, struct buf *out);
/* Returns a new heap string: the sanitised copy of s[0..n). */
char *utf8_clean_dup(const char *s, size_t n);
/* Length of the valid UTF-8 sequence starting at s (at most n bytes), or 0 if it is invalid. */
size_t utf8_seq_len(const unsigned char *s, size_t n);
/* Largest cut <= pos that does not split a UTF-8 sequence of s. */
size_t utf8_floor(const char *s, size_t len, size_t pos);

#endif
