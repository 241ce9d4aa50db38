/* The HTML tree walker behind html_doc_convert (internal to lib/text/html*.c). */
#ifndef PGKB_HTML_MD_H
#define PGKB_HTML_MD_H

#include <stddef.h>

#include "lib/text/html.h"

/* Parses the HTML utf8[0..len) (valid UTF-8 without NUL bytes) with libxml2 and fills out->title,
 * out->description and out->markdown (heap strings, never NULL). Boilerplate dropping by class/id names is
 * undone when it would leave no text at all. Never fails: an unparsable input gives empty strings. */
void html_md_convert(const char *utf8, size_t len, struct html_doc *out);

#endif
