/* Durations as people write them in config files and on command lines: "250ms", "30s", "5m", "1h30m", "7d". */
#ifndef PGKB_DURATION_H
#define PGKB_DURATION_H

#include <stdint.h>

/* Room for any formatted duration, including the NUL. */
#define DURATION_FMT_MAX 32

/* Parses s into milliseconds. Accepted: a plain non-negative integer (seconds), or one or more
 * <integer><unit> parts with units ms, s, m, h, d in strictly decreasing order ("1h30m", "2s500ms").
 * No signs, spaces, fractions or upper-case units. Returns 0 and sets *ms, or -1 (leaving *ms untouched)
 * for junk, an empty string, a negative value or a result past INT64_MAX milliseconds. */
int duration_parse(const char *s, int64_t *ms);

/* Writes ms into out as the shortest exact form that duration_parse reads back to the same value
 * ("0s", "250ms", "30s", "1m30s", "7d"); a negative value gets a leading '-'. Returns out. */
char *duration_format(int64_t ms, char out[DURATION_FMT_MAX]);

#endif
