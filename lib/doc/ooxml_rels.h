/* OOXML package relationships (_rels/NAME.rels): which part an id or a relationship type points at. */
#ifndef PGKB_OOXML_RELS_H
#define PGKB_OOXML_RELS_H

#include <stddef.h>

#include "lib/doc/doc.h"

/* The Target of the first relationship in the .rels part xml whose Id is id (when id is not NULL) or whose
 * Type ends with type_suffix (when id is NULL), resolved against the folder base ("" or "ppt/", with its
 * slash) to a zip entry name: "../x" climbs, "/x" is from the root. External targets give NULL. Heap, or
 * NULL when none. */
char *ooxml_rel_target(const char *xml, size_t len, const struct doc_limits *lim, const char *id,
                       const char *type_suffix, const char *base);
/* base + target as a zip entry name, "." and ".." resolved (never above the root), heap. */
char *ooxml_resolve(const char *base, const char *target);
/* The folder of a part name with its trailing slash ("word/document.xml" -> "word/"), heap. */
char *ooxml_dir(const char *part);
/* The .rels part name of a part ("ppt/presentation.xml" -> "ppt/_rels/presentation.xml.rels"), heap. */
char *ooxml_rels_name(const char *part);

#endif
