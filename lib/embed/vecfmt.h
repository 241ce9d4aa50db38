/* Float vectors as Postgres literals: real[] "{0.1,-0.2}" and pgvector "[0.1,-0.2]", shortest round-trip text. */
#ifndef PGKB_VECFMT_H
#define PGKB_VECFMT_H

#include <stddef.h>

#include "lib/util/buf.h"

enum vecfmt_style {
	VECFMT_ARRAY,    /* {0.1,-0.2}: a real[] / float4[] literal */
	VECFMT_PGVECTOR, /* [0.1,-0.2]: a pgvector literal */
};

/* Room vecfmt_float needs, NUL included. */
#define VECFMT_FLOAT_MAX 24

/* Writes the shortest decimal that reads back (strtof, Postgres float4in, pgvector) as exactly f, NUL-terminated,
 * into dst[VECFMT_FLOAT_MAX]; returns its length. Locale-independent ('.' always), plain or exponent notation,
 * whichever is shorter ("0.1", "-3.5e-7", "-0"). f must be finite: NaN and infinities write "0". */
size_t vecfmt_float(float f, char *dst);

/* Appends the literal for v[0..n) to out ("{}" or "[]" when n is 0). Returns 0, or -1 with out unchanged when an
 * element is NaN or infinite (pgvector rejects them and they have no place in an embedding). */
int vecfmt_append(struct buf *out, const float *v, size_t n, enum vecfmt_style style);

/* The literal as a new heap string, or NULL when an element is not finite. */
char *vecfmt_format(const float *v, size_t n, enum vecfmt_style style);

/* Parses s[0..len): "{...}" or "[...]" holding comma-separated decimal numbers, with optional whitespace around
 * everything. On success returns 0, *out a heap array of *n floats (NULL when n is 0) owned by the caller.
 * On error returns -1, sets *out = NULL, *n = 0 and *err to a heap message
 * ("element 3: not a finite number: \"abc\""); NULL elements, nested arrays, NaN, Infinity, hexadecimal and
 * out-of-range values are errors. Locale-independent; every value vecfmt_append writes reads back bit for bit. */
int vecfmt_parse(const char *s, size_t len, float **out, size_t *n, char **err);

#endif
