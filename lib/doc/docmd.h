/* Builds the Markdown-like text of lib/text/html.h (headings, lists, pipe tables, fences) from the blocks a
 * document reader finds, with the page table of struct doc_text and the output bound. */
#ifndef PGKB_DOCMD_H
#define PGKB_DOCMD_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/doc/doc.h"
#include "lib/util/buf.h"

struct docmd_row {
	char **cells;
	size_t n;
};

struct docmd {
	struct buf b;
	size_t *page_start;
	size_t npages, cap;
	size_t max_bytes;
	bool page_pending;  /* docmd_page was called and no block has been written since */
	bool truncated;     /* a block was dropped for max_bytes */
	int last;           /* kind of the last block written, for list items that follow each other */
	char *first_heading; /* for the title fallback; NULL until a heading is written */
	struct docmd_row *rows; /* the table being built */
	size_t nrows, rows_cap;
};

void docmd_init(struct docmd *m, size_t max_bytes);
/* A new page (slide, chapter) starts with the next block: readers with pages call it before each page, the
 * first included; a reader that never calls it gets one page. */
void docmd_page(struct docmd *m);
/* True once a block has been dropped for the output bound: a reader may stop. */
bool docmd_full(const struct docmd *m);

/* The blocks. text is raw text from the document (any bytes): it is made valid UTF-8, its runs of white
 * space become one space, and a line that would read as Markdown it should not (a leading '#' or fence) gets
 * a backslash. Empty text writes nothing. */
void docmd_heading(struct docmd *m, int level, const char *text);
void docmd_para(struct docmd *m, const char *text);
/* A list item at depth 0.. (two spaces of indent per level); marker "-" or "N.". Items that follow each
 * other are one list (single line breaks). */
void docmd_item(struct docmd *m, int depth, const char *marker, const char *text);
/* Ends the list being written: the next item starts a new list after a blank line. */
void docmd_list_end(struct docmd *m);
/* A fenced code block of code (lines kept; the fence is longer than any backtick run in it). */
void docmd_code(struct docmd *m, const char *code);

/* Markdown already in this shape (an EPUB chapter through lib/text/html.h), written as one block. */
void docmd_raw(struct docmd *m, const char *md, size_t len);

/* A table: cells row by row, then docmd_table_end writes it as a pipe table with the first row as header. */
void docmd_table_cell(struct docmd *m, const char *text);
void docmd_table_row_end(struct docmd *m);
void docmd_table_end(struct docmd *m);

/* Appends text with white space collapsed and invalid UTF-8 repaired (the helper the blocks use). */
void docmd_collapse(struct buf *out, const char *s, size_t n);

/* Moves the text and page table into out (its other fields untouched) and frees m. */
void docmd_finish(struct docmd *m, struct doc_text *out);
void docmd_free(struct docmd *m);

#endif
