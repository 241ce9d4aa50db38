/* Markdown-like text from document blocks: the same shapes lib/text/html.c writes, so chunking, code
 * extraction and heading paths work the same for office documents as for web pages. */
#include "lib/doc/docmd.h"

#include <stdlib.h>
#include <string.h>

#include "lib/text/utf8.h"
#include "lib/util/mem.h"

enum { LAST_NONE, LAST_BLOCK, LAST_ITEM };

void docmd_init(struct docmd *m, size_t max_bytes)
{
	memset(m, 0, sizeof(*m));
	m->max_bytes = max_bytes;
}

static void push_page(struct docmd *m, size_t off)
{
	if (m->npages == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->page_start = xrealloc(m->page_start, m->cap * sizeof(*m->page_start));
	}
	m->page_start[m->npages++] = off;
}

void docmd_page(struct docmd *m)
{
	if (m->page_pending) /* the previous page had no text: it starts where the next one does */
		push_page(m, m->b.len);
	m->page_pending = true;
}

bool docmd_full(const struct docmd *m)
{
	return m->truncated;
}

/* Writes the separator and block text s[0..n), or drops it (and marks the text truncated) when it would
 * pass the output bound: a block is kept whole or not at all, so no fence or table is left open. */
static void put_block(struct docmd *m, int kind, const char *s, size_t n)
{
	if (m->truncated || n == 0)
		return;
	const char *sep = m->b.len == 0 ? "" : (kind == LAST_ITEM && m->last == LAST_ITEM) ? "\n" : "\n\n";
	size_t seplen = strlen(sep);
	if (m->b.len + seplen + n > m->max_bytes) {
		m->truncated = true;
		return;
	}
	buf_append(&m->b, sep, seplen);
	if (m->page_pending) {
		push_page(m, m->b.len);
		m->page_pending = false;
	}
	buf_append(&m->b, s, n);
	m->last = kind;
}

void docmd_collapse(struct buf *out, const char *s, size_t n)
{
	struct buf clean = BUF_INIT;
	utf8_sanitize(s, n, &clean);
	bool space = out->len > 0 && out->data[out->len - 1] != ' ';
	bool pending = false;
	for (size_t i = 0; i < clean.len; i++) {
		unsigned char c = (unsigned char)clean.data[i];
		if (c <= ' ' || c == 0x7f) {
			pending = space;
			continue;
		}
		/* U+00A0 no-break space reads as a space */
		if (c == 0xc2 && i + 1 < clean.len && (unsigned char)clean.data[i + 1] == 0xa0) {
			pending = space;
			i++;
			continue;
		}
		if (pending)
			buf_putc(out, ' ');
		pending = false;
		buf_putc(out, (char)c);
		space = true;
	}
	buf_free(&clean);
}

/* Collapsed text with a backslash before a leading '#' or fence run, as html.c escapes plain text. */
static void inline_text(struct buf *out, const char *text)
{
	struct buf t = BUF_INIT;
	docmd_collapse(&t, text, strlen(text));
	const char *s = buf_str(&t);
	if (s[0] == '#' || ((s[0] == '`' || s[0] == '~') && s[1] == s[0] && s[2] == s[0]))
		buf_putc(out, '\\');
	buf_append(out, s, t.len);
	buf_free(&t);
}

void docmd_heading(struct docmd *m, int level, const char *text)
{
	struct buf t = BUF_INIT;
	docmd_collapse(&t, text, strlen(text));
	if (t.len > 0) {
		level = level < 1 ? 1 : level > 6 ? 6 : level;
		struct buf h = BUF_INIT;
		for (int i = 0; i < level; i++)
			buf_putc(&h, '#');
		buf_putc(&h, ' ');
		buf_append(&h, t.data, t.len);
		put_block(m, LAST_BLOCK, h.data, h.len);
		if (!m->first_heading)
			m->first_heading = xstrdup(buf_str(&t));
		buf_free(&h);
	}
	buf_free(&t);
}

void docmd_para(struct docmd *m, const char *text)
{
	struct buf t = BUF_INIT;
	inline_text(&t, text);
	put_block(m, LAST_BLOCK, buf_str(&t), t.len);
	buf_free(&t);
}

void docmd_item(struct docmd *m, int depth, const char *marker, const char *text)
{
	struct buf body = BUF_INIT;
	docmd_collapse(&body, text, strlen(text));
	if (body.len > 0) {
		struct buf t = BUF_INIT;
		depth = depth < 0 ? 0 : depth > 8 ? 8 : depth;
		for (int i = 0; i < depth; i++)
			buf_puts(&t, "  ");
		buf_printf(&t, "%s %s", marker, body.data);
		put_block(m, LAST_ITEM, t.data, t.len);
		buf_free(&t);
	}
	buf_free(&body);
}

void docmd_list_end(struct docmd *m)
{
	if (m->last == LAST_ITEM)
		m->last = LAST_BLOCK;
}

void docmd_code(struct docmd *m, const char *code)
{
	struct buf c = BUF_INIT;
	utf8_sanitize(code, strlen(code), &c);
	while (c.len > 0 && (c.data[c.len - 1] == '\n' || c.data[c.len - 1] == ' ' || c.data[c.len - 1] == '\r'))
		c.data[--c.len] = '\0';
	size_t start = 0;
	while (start < c.len && c.data[start] == '\n')
		start++;
	if (start < c.len) {
		size_t run = 0, longest = 0;
		for (size_t i = start; i < c.len; i++) {
			run = c.data[i] == '`' ? run + 1 : 0;
			longest = run > longest ? run : longest;
		}
		size_t flen = longest >= 3 ? longest + 1 : 3;
		struct buf t = BUF_INIT;
		for (size_t i = 0; i < flen; i++)
			buf_putc(&t, '`');
		buf_putc(&t, '\n');
		for (size_t i = start; i < c.len; i++) /* a carriage return would end the line for some readers */
			if (c.data[i] != '\r')
				buf_putc(&t, c.data[i]);
		buf_putc(&t, '\n');
		for (size_t i = 0; i < flen; i++)
			buf_putc(&t, '`');
		put_block(m, LAST_BLOCK, t.data, t.len);
		buf_free(&t);
	}
	buf_free(&c);
}

void docmd_raw(struct docmd *m, const char *md, size_t len)
{
	put_block(m, LAST_BLOCK, md, len);
}

/* A table cell stays on its row's line: '|' escaped, white space collapsed. */
void docmd_table_cell(struct docmd *m, const char *text)
{
	if (m->nrows == 0)
		docmd_table_row_end(m); /* opens the first row */
	struct docmd_row *r = &m->rows[m->nrows - 1];
	struct buf t = BUF_INIT, e = BUF_INIT;
	docmd_collapse(&t, text, strlen(text));
	for (size_t i = 0; i < t.len; i++) {
		if (t.data[i] == '|')
			buf_putc(&e, '\\');
		buf_putc(&e, t.data[i]);
	}
	buf_free(&t);
	r->cells = xrealloc(r->cells, (r->n + 1) * sizeof(*r->cells));
	r->cells[r->n++] = buf_steal(&e);
}

/* Ends the current row by opening the next one; empty rows are dropped when the table is written. */
void docmd_table_row_end(struct docmd *m)
{
	if (m->nrows > 0 && m->rows[m->nrows - 1].n == 0)
		return;
	if (m->nrows == m->rows_cap) {
		m->rows_cap = m->rows_cap ? m->rows_cap * 2 : 8;
		m->rows = xrealloc(m->rows, m->rows_cap * sizeof(*m->rows));
	}
	m->rows[m->nrows++] = (struct docmd_row){NULL, 0};
}

static void free_rows(struct docmd *m)
{
	for (size_t r = 0; r < m->nrows; r++) {
		for (size_t c = 0; c < m->rows[r].n; c++)
			free(m->rows[r].cells[c]);
		free(m->rows[r].cells);
	}
	free(m->rows);
	m->rows = NULL;
	m->nrows = m->rows_cap = 0;
}

static void put_row(struct buf *t, const struct docmd_row *r, size_t cols)
{
	buf_putc(t, '|');
	for (size_t c = 0; c < cols; c++) {
		buf_putc(t, ' ');
		if (c < r->n)
			buf_puts(t, r->cells[c]);
		buf_puts(t, " |");
	}
	buf_putc(t, '\n');
}

void docmd_table_end(struct docmd *m)
{
	size_t cols = 0, filled = 0;
	for (size_t r = 0; r < m->nrows; r++) {
		cols = m->rows[r].n > cols ? m->rows[r].n : cols;
		for (size_t c = 0; c < m->rows[r].n; c++)
			filled += m->rows[r].cells[c][0] != '\0';
	}
	if (cols > 0 && filled > 0) {
		struct buf t = BUF_INIT;
		bool header = false;
		for (size_t r = 0; r < m->nrows; r++) {
			if (m->rows[r].n == 0)
				continue;
			put_row(&t, &m->rows[r], cols);
			if (!header) {
				buf_putc(&t, '|');
				for (size_t c = 0; c < cols; c++)
					buf_puts(&t, " --- |");
				buf_putc(&t, '\n');
				header = true;
			}
		}
		t.data[--t.len] = '\0'; /* the block separator supplies the line break */
		put_block(m, LAST_BLOCK, t.data, t.len);
		buf_free(&t);
	}
	free_rows(m);
}

void docmd_finish(struct docmd *m, struct doc_text *out)
{
	if (m->page_pending) /* the last page had no text */
		push_page(m, m->b.len);
	if (m->npages == 0) /* a reader without pages: one page */
		push_page(m, 0);
	m->page_start[0] = 0; /* text before the first page mark belongs to page 1 */
	out->markdown_len = m->b.len;
	out->markdown = buf_steal(&m->b);
	out->page_start = m->page_start;
	out->npages = m->npages;
	out->truncated = out->truncated || m->truncated;
	m->page_start = NULL;
	m->npages = m->cap = 0;
	docmd_free(m);
}

void docmd_free(struct docmd *m)
{
	buf_free(&m->b);
	free(m->page_start);
	free(m->first_heading);
	free_rows(m);
	memset(m, 0, sizeof(*m));
}
