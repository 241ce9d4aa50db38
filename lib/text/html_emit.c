/* The Markdown emitter: owed breaks and spaces, list indentation, escaping, inline code and code fences. */
#include "lib/text/html_emit.h"

#include <stdlib.h>
#include <string.h>

#include "lib/text/html_lang.h"
#include "lib/util/mem.h"
#include "lib/text/textstats.h"
#include "lib/text/utf8.h"

#define INDENT_MAX 24 /* spaces of list indentation at most */

static bool is_ws(const char *s, size_t n, size_t i, size_t *len)
{
	unsigned char c = (unsigned char)s[i];
	if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
		*len = 1;
		return true;
	}
	if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] == 0xA0) { /* no-break space */
		*len = 2;
		return true;
	}
	return false;
}

/* Appends s[0..n) without control bytes, escaping '|' when pipes is set. */
static void put_clean(struct buf *b, const char *s, size_t n, bool pipes)
{
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != 0x7F && !(pipes && c == '|'))
			continue;
		buf_append(b, s + run, i - run);
		if (c == '|')
			buf_append(b, "\\|", 2);
		run = i + 1;
	}
	buf_append(b, s + run, n - run);
}

void html_emit_collapse(struct buf *b, const char *s)
{
	size_t n = strlen(s), i = 0, ws;
	while (i < n && b->len < HTML_META_MAX) {
		if (is_ws(s, n, i, &ws)) {
			if (b->len && b->data[b->len - 1] != ' ')
				buf_putc(b, ' ');
			i += ws;
			continue;
		}
		size_t j = i;
		while (j < n && !is_ws(s, n, j, &ws))
			j++;
		put_clean(b, s + i, j - i, false);
		i = j;
	}
	while (b->len && b->data[b->len - 1] == ' ')
		b->len--;
	if (b->len > HTML_META_MAX)
		b->len = utf8_floor(b->data, b->len, HTML_META_MAX);
	if (b->data)
		b->data[b->len] = '\0';
}

char *html_emit_collapsed_dup(const char *s)
{
	struct buf b = BUF_INIT;
	html_emit_collapse(&b, s);
	return buf_steal(&b);
}

/* ---- the emitter --------------------------------------------------------------------------- */

void html_emit_break(struct conv *c, int n)
{
	if (html_emit_oneline(c)) {
		c->space = true;
		return;
	}
	if (n > c->nl)
		c->nl = n;
}

static void put_indent(struct conv *c, int levels)
{
	int w = 0;
	for (int i = 0; i < levels && i < HTML_LIST_MAX; i++)
		w += c->lists[i].width;
	for (int i = 0; i < w && i < INDENT_MAX; i++)
		buf_putc(&c->out, ' ');
}

void html_emit_flush(struct conv *c)
{
	struct buf *o = &c->out;
	if (c->nl && o->len) {
		for (int i = 0; i < c->nl; i++)
			buf_putc(o, '\n');
		c->bol = true;
		if (!c->marker)
			put_indent(c, c->nlists);
	} else if (c->space && o->len && !c->bol) {
		buf_putc(o, ' ');
	}
	c->nl = 0;
	c->space = false;
	if (c->marker) {
		put_indent(c, c->nlists - 1);
		buf_puts(o, c->markbuf);
		c->marker = false;
		c->bol = false;
	}
	if (c->head_owed) {
		for (int i = 0; i < c->heading; i++)
			buf_putc(o, '#');
		buf_putc(o, ' ');
		c->head_owed = false;
		c->head_at = o->len;
		c->bol = false;
	}
}

/* True when a line starting with s would read as a Markdown heading or fence. */
static bool needs_escape(const char *s, size_t n)
{
	if (s[0] == '#')
		return true;
	return n >= 3 && (s[0] == '`' || s[0] == '~') && s[1] == s[0] && s[2] == s[0];
}

static void put_word(struct conv *c, const char *s, size_t n)
{
	html_emit_flush(c);
	if (c->bol && needs_escape(s, n))
		buf_putc(&c->out, '\\');
	c->bol = false;
	put_clean(&c->out, s, n, c->cell > 0);
}

void html_emit_pre_text(struct conv *c, const char *s, size_t n)
{
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch >= 0x20 && ch != 0x7F)
			continue;
		if (ch == '\t' || ch == '\n')
			continue;
		buf_append(&c->pre, s + run, i - run);
		if (ch == '\r' && !(i + 1 < n && s[i + 1] == '\n'))
			buf_putc(&c->pre, '\n');
		run = i + 1;
	}
	buf_append(&c->pre, s + run, n - run);
}

void html_emit_text(struct conv *c, const char *s, size_t n)
{
	if (c->pre_depth) {
		html_emit_pre_text(c, s, n);
		return;
	}
	size_t i = 0, ws;
	while (i < n) {
		if (is_ws(s, n, i, &ws)) {
			if (c->code_depth && c->code.len)
				c->code_space = true;
			else
				c->space = true;
			i += ws;
			continue;
		}
		size_t j = i;
		while (j < n && !is_ws(s, n, j, &ws))
			j++;
		if (c->code_depth) {
			if (c->code_space)
				buf_putc(&c->code, ' ');
			c->code_space = false;
			put_clean(&c->code, s + i, j - i, false);
		} else {
			put_word(c, s + i, j - i);
		}
		i = j;
	}
}

/* Longest run of backticks anywhere in s. */
static size_t max_run(const char *s, size_t n)
{
	size_t best = 0, r = 0;
	for (size_t i = 0; i < n; i++) {
		r = s[i] == '`' ? r + 1 : 0;
		if (r > best)
			best = r;
	}
	return best;
}

/* Longest run of backticks opening a line (after up to 3 spaces): what could close a fence. */
static size_t max_line_run(const char *s, size_t n)
{
	size_t best = 0;
	for (size_t i = 0; i < n;) {
		size_t k = 0, r = 0;
		while (k < 3 && i + k < n && s[i + k] == ' ')
			k++;
		while (i + k + r < n && s[i + k + r] == '`')
			r++;
		if (r > best)
			best = r;
		const char *nl = memchr(s + i, '\n', n - i);
		i = nl ? (size_t)(nl - s) + 1 : n;
	}
	return best;
}

void html_emit_code_end(struct conv *c)
{
	struct buf *k = &c->code;
	if (k->len) {
		size_t delim = max_run(k->data, k->len) + 1;
		bool pad = k->data[0] == '`' || k->data[k->len - 1] == '`';
		html_emit_flush(c);
		c->bol = false;
		for (size_t i = 0; i < delim; i++)
			buf_putc(&c->out, '`');
		if (pad)
			buf_putc(&c->out, ' ');
		put_clean(&c->out, k->data, k->len, c->cell > 0);
		if (pad)
			buf_putc(&c->out, ' ');
		for (size_t i = 0; i < delim; i++)
			buf_putc(&c->out, '`');
	}
	if (c->code_space)
		c->space = true;
	buf_reset(k);
	c->code_space = false;
}

void html_emit_pre_end(struct conv *c)
{
	struct buf *p = &c->pre;
	size_t end = p->len, start = 0;
	while (end && textstats_is_space((unsigned char)p->data[end - 1]))
		end--;
	for (size_t i = 0; i < end && textstats_is_space((unsigned char)p->data[i]); i++)
		if (p->data[i] == '\n')
			start = i + 1;
	if (start < end) {
		const char *code = p->data + start, *lang = c->lang;
		size_t n = end - start, fence = max_line_run(code, n) + 1;
		if (!*lang)
			lang = html_lang_detect(code, n);
		struct buf *o = &c->out;
		if (o->len)
			buf_puts(o, "\n\n");
		for (size_t i = 0; i < (fence < 3 ? 3 : fence); i++)
			buf_putc(o, '`');
		buf_puts(o, lang ? lang : "");
		buf_putc(o, '\n');
		buf_append(o, code, n);
		buf_putc(o, '\n');
		for (size_t i = 0; i < (fence < 3 ? 3 : fence); i++)
			buf_putc(o, '`');
		c->marker = false;
		c->nl = 2;
		c->space = false;
		c->bol = false;
	}
	buf_reset(p);
}

void html_emit_free(struct conv *c)
{
	buf_free(&c->out);
	buf_free(&c->pre);
	buf_free(&c->code);
	free(c->title);
	free(c->h1);
	free(c->desc);
	free(c->og);
}
