/* A fast scanner for the start tags of a well-formed HTML page, for link extraction. It reads tags the way
 * libxml2's HTML parser does (comments, <!...> and <?...> declarations, end tags, the raw text of <script> and
 * <style>) and hands each start tag to a callback with its attributes, builds nothing and decodes nothing. It
 * accepts only a strict tag grammar; anything outside it (an odd byte in a tag, an unterminated tag or comment,
 * a NUL) stops the scan with TAG_SCAN_UNSURE, and the caller parses the page with libxml2 instead, so that
 * the two never disagree about a page the scanner accepts. */
#ifndef PGKB_TAG_SCAN_H
#define PGKB_TAG_SCAN_H

#include <stddef.h>

#define TAG_SCAN_MAX_ATTRS 64

/* An attribute as it stands in the page: name lowercased into the scanner's buffer, value raw (character
 * references undecoded; NULL for an attribute without a value). */
struct tag_attr {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/* Called for each start tag; name is lowercased (not NUL-terminated). A non-zero return stops the scan and
 * is returned by tag_scan. */
typedef int (*tag_scan_cb)(void *arg, const char *name, size_t name_len, const struct tag_attr *attrs,
                           size_t nattrs);

#define TAG_SCAN_UNSURE (-1)

/* Scans html[0..len). Returns 0 when the whole page was scanned, TAG_SCAN_UNSURE when it fell outside the
 * grammar, or what cb returned when that stopped it. */
int tag_scan(const char *html, size_t len, tag_scan_cb cb, void *arg);

#endif
