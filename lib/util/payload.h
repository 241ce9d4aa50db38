/* Job payloads: the JSON object a handler reads, or a readable reason why there is none. */
#ifndef PGKB_PAYLOAD_H
#define PGKB_PAYLOAD_H

#include <jansson.h>

/* Parses text (a job payload, or JSON options stored with one) and returns the new reference to its top-level
 * object. Otherwise returns NULL and sets *err to a heap message that starts with "KIND: payload" and gives the
 * real reason: jansson's own words and position for text that does not parse ("fetch: payload: number out of
 * range (too big integer) at line 1, column 34": a number beyond 64 bits, nesting deeper than jansson's limit,
 * a syntax error), or "KIND: payload is not a JSON object" for valid JSON of another type. text NULL reads as
 * empty. */
json_t *payload_object(const char *kind, const char *text, char **err);

#endif
