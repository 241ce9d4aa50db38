/* bytea values as libpq returns them in text format. */
#ifndef PGKB_PGBYTEA_H
#define PGKB_PGBYTEA_H

#include <stddef.h>

/* Decodes a bytea in hex output format ("\x4142...", bytea_output = hex, the server default) into a heap buffer
 * with a NUL after its *len bytes. Returns NULL when s is not that format: no "\x" prefix, an odd number of
 * digits or a character that is not a hex digit (a stored value is never trusted to be well formed). */
char *pg_bytea_decode(const char *s, size_t *len);

#endif
