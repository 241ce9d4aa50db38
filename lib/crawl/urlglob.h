/* Include/exclude glob patterns for crawl URLs, matched in linear space and O(pattern x text) time. */
#ifndef PGKB_GLOB_H
#define PGKB_GLOB_H

#include <stdbool.h>
#include <stddef.h>

// Pattern syntax (case-sensitive; a pattern must match the whole string):
//   *    any run of characters, possibly empty, that contains no '/'
//   **   any run of characters, possibly empty, '/' included
//   ?    exactly one character other than '/'
//   \x   the character x literally (so "\*" is a star and "\?" a question mark)
//   any other byte matches itself ('[' and '{' have no special meaning).
// So "https://example.com/docs/**" takes the whole docs tree, "https://example.com/docs/*" one level of it,
// and "**.pdf" every URL ending in ".pdf". Matching simulates the pattern as an automaton over all its
// positions at once, so no pattern ("a*a*a*a*a*b" included) can cause exponential backtracking.

/* True when pattern matches all of s. A NULL pattern or string matches nothing. */
bool glob_match(const char *pattern, const char *s);

// Decides whether a crawl may take url under include/exclude lists: true when (there are no include patterns
// or at least one matches) and no exclude pattern matches. A pattern starting with '/' is matched against the
// URL's path and query ("/docs/**"); any other pattern against the whole canonical URL
// ("https://example.com/docs/**"). url should be canonical (url_canonical): hosts are lower-case there, so
// write patterns' hosts in lower case.
bool glob_url_allowed(const char *const *include, size_t n_include, const char *const *exclude,
                      size_t n_exclude, const char *url);

#endif
