/* Internal to lib/text/chunk*.c: the line table of a Markdown text and the choice of split points. */
#ifndef PGKB_CHUNK_INT_H
#define PGKB_CHUNK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/text/codeblock.h"

#define CHUNK_NONE SIZE_MAX

enum line_kind { K_TEXT, K_BLANK, K_HEADING, K_OPEN, K_BODY, K_CLOSE };

/* Split classes, best first. */
enum split_class { C_FENCE, C_HEADING, C_PARA, C_LINE, C_SENTENCE, C_WORD, C_NCLASS };

struct mline {
	size_t start, end;    /* end: the '\n' (or len) */
	int fence;            /* index into fences for K_OPEN/K_BODY/K_CLOSE, else -1 */
	unsigned char kind;   /* enum line_kind */
	unsigned char level;  /* heading level 1..6 */
	signed char cls;      /* split class of a cut at start, or -1 */
};

struct mfence {
	size_t open;      /* start of the opening line */
	size_t body;      /* start of the first content line */
	size_t close;     /* start of the closing line, or len when unclosed */
	size_t end;       /* just past the closing line (its newline included), or len */
	size_t flen;      /* fence characters */
	char ch;          /* '`' or '~' */
	bool giant;       /* the whole block exceeds the chunk size: it may be cut at line boundaries */
	char lang[CODEBLOCK_LANG_MAX + 1];
};

struct doc {
	const char *s;
	size_t len;
	size_t size;
	struct mline *lines;
	size_t nlines, lcap;
	struct mfence *fences;
	size_t nfences, fcap;
};

/* Builds the line table and fence list of d->s[0..d->len) for chunks of d->size code points. */
void chunk_doc_build(struct doc *d);
/* Frees the tables of d. */
void chunk_doc_free(struct doc *d);
/* Index of the line holding byte pos, searching forward from the line hint. */
size_t chunk_line_at(const struct doc *d, size_t pos, size_t hint);
/* Index of the fence whose body holds pos (from its first content line up to its closing line), or -1. */
int chunk_fence_at(const struct doc *d, size_t pos);
/* Number of fences whose opening line starts before pos. */
size_t chunk_fences_before(const struct doc *d, size_t pos);
/* True when a chunk may start at pos, a position inside a line outside fences, without its first line
 * reading as a fence: the text from pos (past blanks) does not begin with three '`' or '~'. */
bool chunk_safe_start(const struct doc *d, size_t pos);
/* Chooses where the chunk whose own text starts at S (in line li) ends. Its content starts at *ov (the
 * overlap, <= S) and after reopen code points of a re-opened fence; the whole must fit size code points.
 * Sets *ov = S when the overlap has to go to make room. Always returns a cut > S. */
size_t chunk_find_cut(const struct doc *d, size_t S, size_t li, size_t reopen, size_t *ov);

#endif
