/* PDF page text to Markdown-like text. poppler gives each page's text in reading order, one output line per
 * line of the page; what a reader of the page skips (running headers, footers, page numbers) and what only
 * typesetting made (hyphens and breaks at line ends) is undone here. */
#include "lib/doc/pdftext.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/text/textstats.h"
#include "lib/util/buf.h"
#include "lib/util/mem.h"

#define EDGE_LINES 2      /* lines at the top and at the bottom of a page that may be furniture */
#define FURNITURE_PAGES 3 /* an edge line repeated on this many pages is a running header or footer */
#define OUTER_PAGES 2     /* as is the very first or last line of this many pages (a chapter's header that
                           * runs over two pages) */
#define MAX_LINES 20000   /* per page; the rest of an absurd page is one line */

struct line {
	const char *s;
	size_t n;
	bool drop;
};

struct page {
	struct line *lines;
	size_t n;
};

static void split_page(const char *text, struct page *p)
{
	p->lines = NULL;
	p->n = 0;
	size_t cap = 0;
	for (const char *s = text; *s;) {
		const char *e = s;
		while (*e && *e != '\n' && *e != '\f')
			e++;
		const char *a = s, *b = e;
		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		if (b > a) {
			if (p->n == cap) {
				cap = cap ? cap * 2 : 64;
				p->lines = xrealloc(p->lines, cap * sizeof(*p->lines));
			}
			p->lines[p->n++] = (struct line){a, (size_t)(b - a), false};
		}
		s = *e ? e + 1 : e;
		if (p->n >= MAX_LINES)
			break;
	}
}

/* The line with its digits dropped, ASCII lowercased and white space collapsed: "Chapter 2 ... 17" and
 * "Chapter 2 ... 18" are the same running header. */
static char *furniture_key(const struct line *l)
{
	struct buf b = BUF_INIT;
	bool space = false;
	for (size_t i = 0; i < l->n; i++) {
		unsigned char c = (unsigned char)l->s[i];
		if (isdigit(c))
			continue;
		if (isspace(c)) {
			space = b.len > 0;
			continue;
		}
		if (space)
			buf_putc(&b, ' ');
		space = false;
		buf_putc(&b, (char)tolower(c));
	}
	return buf_steal(&b);
}

static bool is_roman(const char *s, size_t n)
{
	if (n == 0 || n > 8)
		return false;
	for (size_t i = 0; i < n; i++) /* lower case only: "C" or "I" alone may be text */
		if (!strchr("ivxlc", s[i]))
			return false;
	return true;
}

/* "12", "- 12 -", "Page 12", "12 of 40", "12/40", "xiv": a page number and nothing else. */
static bool bare_page_number(const struct line *l)
{
	const char *s = l->s, *e = l->s + l->n;
	if (e - s > 5 && strncasecmp(s, "page ", 5) == 0)
		s += 5;
	while (s < e && (*s == '-' || *s == ' '))
		s++;
	while (e > s && (e[-1] == '-' || e[-1] == ' '))
		e--;
	if (is_roman(s, (size_t)(e - s)))
		return true;
	size_t digits = 0;
	for (const char *p = s; p < e; p++) {
		if (isdigit((unsigned char)*p))
			digits++;
		else if (e - p >= 2 && strncasecmp(p, "of", 2) == 0)
			p++;
		else if (*p != ' ' && *p != '/')
			return false;
	}
	return digits > 0 && digits <= 10;
}

struct keyref {
	char *key;
	size_t page;
	struct line *line;
	bool outer; /* the first or last line of its page */
};

static int cmp_keyref(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : (x->page > y->page) - (x->page < y->page);
}

/* Marks the running headers and footers and the bare page numbers among each page's edge lines. */
static void mark_furniture(struct page *pages, size_t npages)
{
	struct keyref *refs = xcalloc(npages * EDGE_LINES * 2 + 1, sizeof(*refs));
	size_t nrefs = 0;
	for (size_t p = 0; p < npages; p++) {
		struct page *pg = &pages[p];
		for (size_t i = 0; i < pg->n; i++) {
			if (i >= EDGE_LINES && i + EDGE_LINES < pg->n)
				continue;
			struct line *l = &pg->lines[i];
			if (bare_page_number(l)) {
				l->drop = true;
				continue;
			}
			char *key = furniture_key(l);
			if (strlen(key) < 3) {
				free(key);
				continue;
			}
			refs[nrefs++] = (struct keyref){key, p, l, i == 0 || i + 1 == pg->n};
		}
	}
	qsort(refs, nrefs, sizeof(*refs), cmp_keyref);
	for (size_t i = 0; i < nrefs;) {
		size_t j = i, distinct = 0, outer = 0, last_outer = (size_t)-1;
		for (; j < nrefs && strcmp(refs[j].key, refs[i].key) == 0; j++) {
			distinct += j == i || refs[j].page != refs[j - 1].page;
			if (refs[j].outer && refs[j].page != last_outer) {
				outer++;
				last_outer = refs[j].page;
			}
		}
		if (distinct >= FURNITURE_PAGES || outer >= OUTER_PAGES)
			for (size_t k = i; k < j; k++)
				refs[k].line->drop = true;
		i = j;
	}
	for (size_t i = 0; i < nrefs; i++)
		free(refs[i].key);
	free(refs);
}

static size_t chars(const struct line *l)
{
	return textstats_chars(l->s, l->n);
}

/* The width of a full line on this page: the longest line but a few (a title or a URL may stick out). */
static size_t full_width(const struct page *pg, size_t from, size_t to)
{
	size_t best[4] = {0, 0, 0, 0};
	for (size_t i = from; i < to; i++) {
		if (pg->lines[i].drop)
			continue;
		size_t c = chars(&pg->lines[i]);
		for (int k = 0; k < 4; k++)
			if (c > best[k]) {
				memmove(best + k + 1, best + k, (size_t)(3 - k) * sizeof(*best));
				best[k] = c;
				break;
			}
	}
	return to - from >= 8 ? best[3] : best[0];
}

static void put_line_start(struct buf *b, const struct line *l, size_t skip)
{
	const char *s = l->s + skip;
	if (skip == 0 && (s[0] == '#' || ((s[0] == '`' || s[0] == '~') && l->n >= 3 && s[1] == s[0] && s[2] == s[0])))
		buf_putc(b, '\\'); /* would read as a heading or fence */
}

/* Lines [from, to) of a page as one block: wrapped lines joined, a hyphen at a wrap joined into its word. */
static void put_text(struct docmd *m, const struct page *pg, size_t from, size_t to)
{
	struct buf b = BUF_INIT;
	size_t width = full_width(pg, from, to);
	const struct line *prev = NULL;
	for (size_t i = from; i < to; i++) {
		const struct line *l = &pg->lines[i];
		if (l->drop)
			continue;
		if (prev) {
			/* a full line wraps on, unless it ends a sentence and the next line starts a new one (then it
			 * may be a paragraph's last line: a line break keeps both readings) */
			unsigned char end = (unsigned char)prev->s[prev->n - 1], next = (unsigned char)l->s[0];
			bool sentence = strchr(".:!?", end) && (isupper(next) || isdigit(next));
			bool wrapped = width >= 30 && chars(prev) * 4 >= width * 3 && !sentence;
			bool hyphen = wrapped && prev->n >= 2 && prev->s[prev->n - 1] == '-' &&
			              isalpha((unsigned char)prev->s[prev->n - 2]) && islower((unsigned char)l->s[0]);
			if (hyphen)
				b.data[--b.len] = '\0';
			else
				buf_putc(&b, wrapped ? ' ' : '\n');
			if (!wrapped)
				put_line_start(&b, l, 0);
		} else {
			put_line_start(&b, l, 0);
		}
		buf_append(&b, l->s, l->n);
		prev = l;
	}
	if (b.len)
		docmd_raw(m, b.data, b.len);
	buf_free(&b);
}

/* ASCII-lowercased, white space collapsed: how an outline title is matched to a line of its page. */
static char *match_key(const char *s, size_t n)
{
	struct buf b = BUF_INIT;
	bool space = false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isspace(c)) {
			space = b.len > 0;
			continue;
		}
		if (space)
			buf_putc(&b, ' ');
		space = false;
		buf_putc(&b, (char)tolower(c));
	}
	return buf_steal(&b);
}

/* The line in [from, to) that is the heading title (equal, or the one holding the other with a section
 * number or page number more), or to when none. */
static size_t find_heading(const struct page *pg, size_t from, size_t to, const char *title)
{
	char *t = match_key(title, strlen(title));
	size_t tn = strlen(t), found = to;
	for (size_t i = from; i < to && found == to && tn >= 2; i++) {
		if (pg->lines[i].drop)
			continue;
		char *k = match_key(pg->lines[i].s, pg->lines[i].n);
		size_t kn = strlen(k);
		if (strcmp(k, t) == 0 || (kn > tn && kn - tn <= 8 && strstr(k, t)) ||
		    (tn > kn && tn - kn <= 8 && kn >= 3 && strstr(t, k)))
			found = i;
		free(k);
	}
	free(t);
	return found;
}

void pdftext_write(char **texts, size_t npages, const struct pdf_outline *outline, size_t nout, struct docmd *m)
{
	struct page *pages = xcalloc(npages + 1, sizeof(*pages));
	for (size_t p = 0; p < npages; p++)
		split_page(texts[p] ? texts[p] : "", &pages[p]);
	mark_furniture(pages, npages);
	size_t o = 0;
	for (size_t p = 0; p < npages && !docmd_full(m); p++) {
		docmd_page(m);
		struct page *pg = &pages[p];
		size_t cursor = 0;
		while (o < nout && outline[o].page < p) /* entries pointing backwards: not placeable */
			o++;
		for (; o < nout && outline[o].page == p; o++) {
			size_t at = find_heading(pg, cursor, pg->n, outline[o].title);
			if (at < pg->n) {
				put_text(m, pg, cursor, at);
				cursor = at + 1;
			}
			docmd_heading(m, outline[o].level, outline[o].title);
		}
		put_text(m, pg, cursor, pg->n);
	}
	for (size_t p = 0; p < npages; p++)
		free(pages[p].lines);
	free(pages);
}

char *pdftext_first_line(char **texts, size_t npages)
{
	for (size_t p = 0; p < npages && p < 3; p++) {
		struct page pg;
		split_page(texts[p] ? texts[p] : "", &pg);
		char *found = NULL;
		for (size_t i = 0; i < pg.n && !found; i++)
			if (!bare_page_number(&pg.lines[i]) && chars(&pg.lines[i]) <= 120)
				found = xstrndup(pg.lines[i].s, pg.lines[i].n);
		free(pg.lines);
		if (found)
			return found;
	}
	return NULL;
}
