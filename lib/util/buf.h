/* Growable byte buffer, always NUL-terminated, for building strings and documents. */
#ifndef PGKB_BUF_H
#define PGKB_BUF_H

#include <stddef.h>

struct buf {
	char *data; /* NUL-terminated; NULL until the first append */
	size_t len;
	size_t cap;
};

#define BUF_INIT {NULL, 0, 0}

/* Makes room for extra more bytes (and the terminating NUL) without appending. */
void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);
/* Returns the contents ("" when empty); stays valid until the next append. */
const char *buf_str(const struct buf *b);
/* Hands the heap string to the caller (never NULL) and leaves the buffer empty. */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);

#endif
