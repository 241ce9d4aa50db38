/* Markdown code fences: recognising fence lines, and extracting fenced blocks as code examples. */
#ifndef PGKB_CODEBLOCK_H
#define PGKB_CODEBLOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/util/hash.h"

#define CODEBLOCK_LANG_MAX 32

/* An opening fence line (CommonMark rules): 0-3 spaces, then 3 or more '`' or '~', then an info string. */
struct codeblock_fence {
	char ch;          /* '`' or '~' */
	size_t len;       /* number of fence characters */
	size_t indent;    /* leading spaces (0..3), removed from the content lines */
	const char *info; /* info string, trimmed; points into the line */
	size_t info_len;
};

/* True when line[0..n) (without its newline) opens a fence; fills *f. A backtick fence whose info
 * string holds a backtick is not a fence. */
bool codeblock_fence_open(const char *line, size_t n, struct codeblock_fence *f);
/* True when line[0..n) closes the fence f: 0-3 spaces, at least f->len of f->ch, then only blanks. */
bool codeblock_fence_close(const char *line, size_t n, const struct codeblock_fence *f);
/* Writes the fence's language into lang: the first word of the info string, lowercased, keeping only
 * [a-z0-9_+#.-] and at most CODEBLOCK_LANG_MAX bytes; "" when there is none. */
void codeblock_fence_lang(const struct codeblock_fence *f, char lang[CODEBLOCK_LANG_MAX + 1]);

struct codeblock_opts {
	int min_chars;     /* blocks with fewer code points (after trimming) are skipped; default 0 */
	int max_chars;     /* blocks with more code points are skipped; 0 = no limit */
	int context_chars; /* code points of surrounding prose kept on each side; default 0 = none */
};

struct code_example {
	char *language;       /* "" when the fence names none */
	char *code;           /* the block's content without the fences; trailing blank lines trimmed */
	char *context_before; /* the prose just before the block, at most context_chars code points */
	char *context_after;  /* the prose just after the block */
	size_t offset;        /* byte offset of the opening fence line in the input */
	int chars;            /* code points in code */
	char hash[HASH_HEX_LEN + 1]; /* SHA-256 hex of code */
};

struct codeblock_list {
	struct code_example *items;
	size_t n, cap;
};

#define CODEBLOCK_LIST_INIT {NULL, 0, 0}

/* Appends to out every fenced block of the Markdown md[0..len) whose size is within the limits of opts
 * (NULL: defaults), in document order. An unclosed fence runs to the end of the input. The input should be
 * valid UTF-8 (as produced by html_doc_convert); strings in the result are heap copies owned by the list.
 * Returns the number of examples appended. */
size_t codeblock_extract(const char *md, size_t len, const struct codeblock_opts *opts,
                         struct codeblock_list *out);
/* Frees every example and the array; leaves the list empty and reusable. */
void codeblock_list_free(struct codeblock_list *list);

#endif
