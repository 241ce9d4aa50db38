/* Content hashes: SHA-256 as lowercase hex, for chunks, code examples and whole documents. */
#ifndef PGKB_HASH_H
#define PGKB_HASH_H

#include <stddef.h>

#define HASH_HEX_LEN 64

/* Writes the SHA-256 of p[0..n) as 64 lowercase hex digits plus a NUL into out.
 * Never fails: an OpenSSL failure (which cannot happen for SHA-256 short of memory exhaustion) aborts. */
void hash_sha256_hex(const void *p, size_t n, char out[HASH_HEX_LEN + 1]);

#endif
