/* The Markdown emitter behind the HTML walker of html_md.c: owed breaks, indentation, escaping, code. */
#ifndef PGKB_HTML_EMIT_H
#define PGKB_HTML_EMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/util/buf.h"
#include "lib/text/codeblock.h"

#define HTML_LIST_MAX 16  /* list levels with their own counter and indentation */
#define HTML_META_MAX 2000 /* bytes kept of a title or description */

struct listlvl {
	bool ordered;
	int next;
	int width;
};

struct conv {
	struct buf out;   /* the Markdown */
	struct buf pre;   /* text of the open <pre> */
	struct buf code;  /* text of the open inline code span */
	int nl;           /* newlines owed before the next text: 0, 1 or 2 */
	bool space;       /* a space is owed before the next text */
	bool bol;         /* the next text starts a line */
	bool marker;      /* a list marker is owed */
	char markbuf[16];
	int heading;      /* level of the open heading; 0 outside */
	bool head_owed;   /* its "#" marker is not written yet */
	size_t head_at;   /* where its text starts in out */
	int pre_depth;
	char lang[CODEBLOCK_LANG_MAX + 1]; /* language of the open <pre>; "" = guess from the code */
	int code_depth;
	bool code_space;  /* a space is owed inside the code span */
	int cell;         /* open pipe-table cells */
	const void *table; /* the open pipe table (an xmlNode) */
	int rows, cells;
	bool row_open;
	struct listlvl lists[HTML_LIST_MAX];
	int nlists;
	int keep;         /* open article/main/section elements: their header and footer are content */
	bool strict;      /* drop elements by class and id names */
	char *title, *h1, *desc, *og;
};

/* True inside a heading or a pipe-table cell, where everything stays on one line. */
static inline bool html_emit_oneline(const struct conv *c)
{
	return c->heading || c->cell;
}

/* Appends s with whitespace collapsed to single spaces and control bytes dropped (HTML_META_MAX bytes). */
void html_emit_collapse(struct buf *b, const char *s);
/* A heap copy of s collapsed as above. */
char *html_emit_collapsed_dup(const char *s);
/* Owes n (1: line, 2: paragraph) line breaks before the next text; a space inside a heading or table cell. */
void html_emit_break(struct conv *c, int n);
/* Writes what is owed before the next text: breaks and list indentation or a space, then markers. */
void html_emit_flush(struct conv *c);
/* Emits the text of a text node: collapsed, or raw inside <pre>, or into the open code span. */
void html_emit_text(struct conv *c, const char *s, size_t n);
/* Appends raw text to the open <pre> (CR LF made LF, control bytes but tab and LF dropped). */
void html_emit_pre_text(struct conv *c, const char *s, size_t n);
/* Closes the inline code span: writes it between enough backticks. */
void html_emit_code_end(struct conv *c);
/* Closes the <pre>: writes it as a fenced block, with c->lang or a guessed language. */
void html_emit_pre_end(struct conv *c);
/* Frees the buffers and strings of c. */
void html_emit_free(struct conv *c);

#endif
