/* The converter child's result on the pipe: a length-prefixed record the parent checks before trusting (the
 * child ran poppler and libxml2 on hostile input, so its bytes are input too). */
#ifndef PGKB_DOCWIRE_H
#define PGKB_DOCWIRE_H

#include <stddef.h>

#include "lib/doc/doc.h"
#include "lib/util/buf.h"

#define DOCWIRE_META_MAX 4096 /* title, author and reason are cut to this many bytes */

/* Appends the record of an outcome: st and reason (NULL when DOC_OK), doc when DOC_OK. */
void docwire_encode(enum doc_status st, const char *reason, const struct doc_text *doc, struct buf *out);
/* Parses a record of exactly len bytes. Returns 0 and sets *st, *reason (heap, NULL when DOC_OK) and *doc
 * (when DOC_OK), or -1 when the record is malformed (lengths, UTF-8, a page table that is not ascending from
 * 0 within the text); nothing is left allocated then. */
int docwire_decode(const char *data, size_t len, enum doc_status *st, char **reason, struct doc_text *doc);

#endif
