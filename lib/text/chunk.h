/* Splits Markdown-like text into overlapping, content-addressed chunks that respect fences and headings. */
#ifndef PGKB_CHUNK_H
#define PGKB_CHUNK_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/util/hash.h"

#define CHUNK_DEFAULT_SIZE 1500   /* code points */
#define CHUNK_DEFAULT_OVERLAP 150 /* code points */
#define CHUNK_MIN_SIZE 64

struct chunk_opts {
	int size;          /* largest chunk, in code points (not bytes); >= CHUNK_MIN_SIZE */
	int overlap;       /* code points of the previous chunk repeated in the next; 0..size/2 */
	const char *title; /* optional first component of every heading path (the page title); may be NULL */
};

struct chunk {
	char *content;      /* the chunk's text: valid UTF-8 when the input is; fences always balanced */
	size_t offset;      /* byte offset in the input of this chunk's own text (after any overlap) */
	size_t end;         /* byte offset in the input where it ends (exclusive) */
	char *heading_path; /* "Title > Section > Sub": the headings in force at offset; "" when none */
	int chars;          /* code points in content */
	int words;          /* words in content (see textstats_words) */
	bool has_code;      /* content holds (part of) a fenced code block */
	char hash[HASH_HEX_LEN + 1]; /* SHA-256 hex of content */
};

struct chunk_list {
	struct chunk *items;
	size_t n, cap;
};

#define CHUNK_LIST_INIT {NULL, 0, 0}

/* Appends the chunks of the Markdown md[0..len) to out. opts may be NULL (defaults above).
 *
 * Each chunk ends at the best split point within its size budget, by priority: a code fence boundary, a
 * heading, a paragraph (blank line), a line break, a sentence end (". ", "? ", "! ", CJK full stops), a
 * space; a point below 40% of the budget is used only when none lies above it, and a cut at an arbitrary
 * code point only when there is no split point at all. A fenced block is never split unless it alone
 * exceeds the size: then it is cut at line boundaries, closed at the end of the chunk and re-opened (with
 * its language) at the start of the next. The overlap is the tail of the previous chunk starting at a word
 * boundary; it never holds a fence line (inside a split block it is whole lines of that block), and a chunk
 * that starts with a heading gets none. No chunk starts or ends inside a fence, and no piece of a line is cut
 * off where it would read as a fence line. Chunks never exceed opts->size code points, except around a line
 * that holds a run of three or more '`' or '~' and is too long to fit (a fence line, or a line no piece of
 * which may start or end a chunk). Splitting is greedy from the
 * start of the text, so the same input always gives the same chunks and an edit changes only the chunks
 * near it.
 *
 * Returns the number of chunks appended (0 for empty or blank input), or -1 when opts are invalid
 * (size < CHUNK_MIN_SIZE, overlap < 0 or overlap > size / 2); strings are heap copies owned by the list. */
int chunk_text(const char *md, size_t len, const struct chunk_opts *opts, struct chunk_list *out);
/* Frees every chunk and the array; leaves the list empty and reusable. */
void chunk_list_free(struct chunk_list *list);

#endif
