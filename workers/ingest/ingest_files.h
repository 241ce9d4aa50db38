/* Files for the ingest worker: the ingest-roots fence around paths that arrive through SQL, directory walks,
 * and reading one file within the size limit. */
#ifndef PGKB_INGEST_FILES_H
#define PGKB_INGEST_FILES_H

#include <stddef.h>
#include <stdint.h>

/* Resolves path (symlinks included) and checks it lies inside one of roots (NULL-terminated). Returns the
 * resolved heap path, or NULL with *err set to a heap message that names the reason (not absolute, missing,
 * outside the roots, no roots configured). */
char *ingest_resolve(const char *path, char *const *roots, char **err);

/* Lists the ingestible files (.md .markdown .mdx .txt .text .rst .html .htm .xhtml) under the resolved
 * directory dir, recursively, skipping hidden entries, not following directory symlinks, and keeping a file
 * symlink only when its target is inside the roots. Returns the number of paths in *out (heap array of heap
 * resolved paths), at most max. */
size_t ingest_list_dir(const char *dir, char *const *roots, size_t max, char ***out);
void ingest_free_list(char **list, size_t n);

/* "WHAT is 1.2 MB, larger than ingest.max_document_bytes (1.0 MB)": why a document too large was refused, the
 * same words for a file and for inline content. Returns a heap string. */
char *ingest_too_large(const char *what, int64_t size, int64_t max_bytes);

/* Reads the resolved regular file path. Returns 0 with *data (heap, NUL-terminated) and *len; -1 with *err
 * set for an unreadable file or one larger than max_bytes (the message says both sizes). */
int ingest_read_file(const char *path, int64_t max_bytes, char **data, size_t *len, char **err);

#endif
