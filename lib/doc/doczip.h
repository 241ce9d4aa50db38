/* Reads entries of a zip container held in memory, within bounds: entry count, declared and actual
 * uncompressed size per entry and in total. Entries are only ever read as bytes: a zip inside a zip is never
 * opened. */
#ifndef PGKB_DOCZIP_H
#define PGKB_DOCZIP_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/doc/doc.h"

struct doczip;

/* Opens data[0..len) (which must outlive the handle). Returns NULL with *st and *err (heap) set when it is
 * not a readable zip or has more than lim->max_entries entries. lim must be filled (doc_limits_default). */
struct doczip *doczip_open(const char *data, size_t len, const struct doc_limits *lim, enum doc_status *st,
                           char **err);
bool doczip_has(struct doczip *z, const char *name);
/* Reads entry name whole into a new NUL-terminated heap buffer (*len without the NUL). Returns NULL with *st
 * and *err set when it is missing (DOC_MALFORMED), encrypted, corrupt, or its declared or actual size passes
 * max_entry_bytes or the bytes read from this zip so far pass max_total_bytes (DOC_TOO_LARGE). */
char *doczip_read(struct doczip *z, const char *name, size_t *len, enum doc_status *st, char **err);
/* Like doczip_read but reads at most max bytes (for sniffing); a longer entry is cut, not an error. */
char *doczip_read_head(struct doczip *z, const char *name, size_t max, size_t *len);
void doczip_close(struct doczip *z);

#endif
