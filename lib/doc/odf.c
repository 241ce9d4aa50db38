/* ODT and ODP: content.xml to Markdown-like text. text:h gives headings, text:list lists (ordered when the
 * list style numbers its level), monospace paragraph and span styles code, table:table pipe tables; in a
 * presentation each draw:page is a page of the result and a section titled by its title frame. Styles come
 * from styles.xml and from content.xml's automatic styles, which name their parents. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/doc/doc_int.h"
#include "lib/doc/docxml.h"
#include "lib/util/buf.h"
#include "lib/util/mem.h"

#define MAX_STYLES 4096
#define LIST_DEPTH 10

struct odf_style {
	char *name, *parent;
	int mono;            /* 1 monospace, 0 another font, -1 not set */
	int title;           /* the style is, or is named, "Title" */
	bool list;           /* a text:list-style */
	bool ordered[LIST_DEPTH];
};

struct odf_walk {
	struct docmd *m;
	bool presentation;
	struct odf_style *styles;
	size_t nstyles;
	struct odf_style *cur_style; /* being defined */
	struct buf para, code, cell, slide_title;
	int p_depth, tbl_depth, list_depth;
	char *list_style[LIST_DEPTH];   /* the list style in force at each list level */
	int counter[LIST_DEPTH];
	bool item_started;              /* the current list item has had its first paragraph */
	int heading;                    /* outline level of the text:h being read, 0 in a text:p */
	bool para_code, para_title, span_mono, span_open;
	int span_depth;                 /* text:span elements open, and the one that is monospace */
	int mono_span_at;
	int skip_depth;                 /* inside a skipped subtree when >= 0 */
	bool in_title_frame, heading_done;
	size_t pages, page_no;
	char *title;
	const struct doc_limits *lim;
};

static struct odf_style *find_style(struct odf_walk *w, const char *name)
{
	for (size_t i = 0; name && i < w->nstyles; i++)
		if (w->styles[i].name && strcmp(w->styles[i].name, name) == 0)
			return &w->styles[i];
	return NULL;
}

static bool style_mono(struct odf_walk *w, const char *name)
{
	struct odf_style *s = find_style(w, name);
	for (int hop = 0; s && hop < 10; hop++) {
		if (s->mono >= 0)
			return s->mono == 1;
		s = find_style(w, s->parent);
	}
	return name && (strcasestr(name, "preformatted") || strcasestr(name, "source") ||
	                strcasestr(name, "code") || strcasestr(name, "verbatim"));
}

static bool style_title(struct odf_walk *w, const char *name)
{
	struct odf_style *s = find_style(w, name);
	for (int hop = 0; s && hop < 10; hop++) {
		if (s->title)
			return true;
		s = find_style(w, s->parent);
	}
	return name && strcmp(name, "Title") == 0;
}

static struct odf_style *new_style(struct odf_walk *w, struct docxml *x, bool list)
{
	if (w->nstyles >= MAX_STYLES)
		return NULL;
	w->styles = xrealloc(w->styles, (w->nstyles + 1) * sizeof(*w->styles));
	struct odf_style *s = &w->styles[w->nstyles++];
	memset(s, 0, sizeof(*s));
	s->name = docxml_attr(x, NS_STYLE, "name");
	s->parent = docxml_attr(x, NS_STYLE, "parent-style-name");
	s->mono = -1;
	s->list = list;
	char *disp = docxml_attr(x, NS_STYLE, "display-name");
	s->title = (disp && strcmp(disp, "Title") == 0) || (s->name && strcmp(s->name, "Title") == 0);
	free(disp);
	return s;
}

/* Style definitions, wherever they appear (styles.xml, content.xml's automatic styles). */
static bool on_style(struct odf_walk *w, struct docxml *x)
{
	if (docxml_is(x, NS_STYLE, "style")) {
		w->cur_style = new_style(w, x, false);
	} else if (docxml_is(x, NS_TEXT, "list-style")) {
		w->cur_style = new_style(w, x, true);
	} else if (w->cur_style && docxml_is(x, NS_STYLE, "text-properties")) {
		char *font = docxml_attr(x, NS_STYLE, "font-name");
		if (!font)
			font = docxml_attr(x, NS_FO, "font-family");
		if (font)
			w->cur_style->mono = doc_font_is_mono(font);
		free(font);
	} else if (w->cur_style && w->cur_style->list &&
	           (docxml_is(x, NS_TEXT, "list-level-style-number") ||
	            docxml_is(x, NS_TEXT, "list-level-style-bullet"))) {
		char *lv = docxml_attr(x, NS_TEXT, "level");
		int level = lv ? atoi(lv) - 1 : -1;
		free(lv);
		char *fmt = docxml_attr(x, NS_STYLE, "num-format");
		if (level >= 0 && level < LIST_DEPTH)
			w->cur_style->ordered[level] = docxml_is(x, NS_TEXT, "list-level-style-number") && fmt && *fmt;
		free(fmt);
	} else {
		return false;
	}
	return true;
}

static void flush_code(struct odf_walk *w)
{
	if (w->code.len > 0)
		docmd_code(w->m, buf_str(&w->code));
	buf_reset(&w->code);
}

/* A presentation page's heading goes before its first block (or at its end when it has none). */
static void slide_heading(struct odf_walk *w)
{
	if (!w->presentation || w->heading_done || w->pages == 0)
		return;
	w->heading_done = true;
	char *t = w->slide_title.len ? xstrdup(buf_str(&w->slide_title)) : xasprintf("Slide %zu", w->page_no);
	docmd_heading(w->m, 1, t);
	if (!w->title && w->slide_title.len) {
		struct buf c = BUF_INIT;
		docmd_collapse(&c, t, strlen(t));
		w->title = buf_steal(&c);
	}
	free(t);
}

static char *list_marker(struct odf_walk *w)
{
	int d = w->list_depth > LIST_DEPTH ? LIST_DEPTH - 1 : w->list_depth - 1; /* deeper lists share the last */
	struct odf_style *ls = NULL;
	for (int k = d; k >= 0 && !ls; k--) /* a nested list without a style takes its parent's */
		ls = find_style(w, w->list_style[k]);
	if (ls && ls->ordered[d])
		return xasprintf("%d.", ++w->counter[d]);
	return xstrdup("-");
}

static void end_paragraph(struct odf_walk *w)
{
	if (w->span_open)
		buf_putc(&w->para, '`');
	w->span_open = false;
	const char *text = buf_str(&w->para);
	if (w->in_title_frame) {
		if (w->slide_title.len && w->para.len)
			buf_putc(&w->slide_title, ' ');
		buf_puts(&w->slide_title, text);
	} else if (w->tbl_depth > 0) {
		if (w->cell.len && w->para.len)
			buf_putc(&w->cell, ' ');
		buf_puts(&w->cell, text);
	} else if (w->para_code && w->heading == 0) {
		slide_heading(w);
		buf_puts(&w->code, text);
		buf_putc(&w->code, '\n');
	} else if (w->para_title && !w->presentation && w->heading == 0) {
		flush_code(w);
		if (!w->title) {
			struct buf c = BUF_INIT;
			docmd_collapse(&c, text, w->para.len);
			w->title = buf_steal(&c);
		}
	} else if (w->para.len > 0) {
		slide_heading(w);
		flush_code(w);
		if (w->heading > 0) {
			docmd_heading(w->m, w->heading + (w->presentation ? 1 : 0), text);
		} else if (w->list_depth > 0 && !w->item_started) {
			char *marker = list_marker(w);
			docmd_item(w->m, w->list_depth - 1, marker, text);
			free(marker);
			w->item_started = true;
		} else {
			docmd_para(w->m, text);
		}
	}
	buf_reset(&w->para);
	w->heading = 0;
	w->para_code = w->para_title = false;
}

static void put_text(struct odf_walk *w, const char *s)
{
	if (!w->para_code && w->span_mono != w->span_open && *s) {
		buf_putc(&w->para, '`');
		w->span_open = w->span_mono;
	}
	buf_puts(&w->para, s);
}

static bool skipped(struct docxml *x)
{
	return docxml_is(x, NS_TEXT, "note") || docxml_is(x, NS_TEXT, "table-of-content") ||
	       docxml_is(x, NS_TEXT, "tracked-changes") || docxml_is(x, NS_OFFICE, "annotation") ||
	       docxml_is(x, NS_PRES, "notes") || docxml_is(x, NS_OFFICE, "forms");
}

static void on_start(struct odf_walk *w, struct docxml *x)
{
	if (skipped(x)) {
		w->skip_depth = x->depth;
		return;
	}
	if (on_style(w, x))
		return;
	if (docxml_is(x, NS_TEXT, "p") || docxml_is(x, NS_TEXT, "h")) {
		if (w->p_depth++ > 0) {
			buf_putc(&w->para, ' '); /* a frame's paragraph inside this one */
			return;
		}
		char *style = docxml_attr(x, NS_TEXT, "style-name");
		w->para_code = style_mono(w, style);
		w->para_title = style_title(w, style);
		free(style);
		if (docxml_is(x, NS_TEXT, "h")) {
			char *lv = docxml_attr(x, NS_TEXT, "outline-level");
			w->heading = lv ? atoi(lv) : 1;
			w->heading = w->heading < 1 ? 1 : w->heading > 6 ? 6 : w->heading;
			free(lv);
		}
	} else if (docxml_is(x, NS_TEXT, "span")) {
		w->span_depth++;
		char *style = docxml_attr(x, NS_TEXT, "style-name");
		if (!w->span_mono && style_mono(w, style)) {
			w->span_mono = true;
			w->mono_span_at = w->span_depth;
		}
		free(style);
	} else if (docxml_is(x, NS_TEXT, "s")) {
		char *c = docxml_attr(x, NS_TEXT, "c");
		int n = c ? atoi(c) : 1;
		free(c);
		n = n < 1 ? 1 : n > 256 ? 256 : n;
		for (int i = 0; i < (w->para_code ? n : 1); i++)
			buf_putc(&w->para, ' ');
	} else if (docxml_is(x, NS_TEXT, "tab")) {
		buf_putc(&w->para, w->para_code ? '\t' : ' ');
	} else if (docxml_is(x, NS_TEXT, "line-break")) {
		buf_putc(&w->para, w->para_code ? '\n' : ' ');
	} else if (docxml_is(x, NS_TEXT, "list")) {
		if (w->list_depth < LIST_DEPTH) {
			free(w->list_style[w->list_depth]);
			w->list_style[w->list_depth] = docxml_attr(x, NS_TEXT, "style-name");
			w->counter[w->list_depth] = 0;
		}
		w->list_depth++;
	} else if (docxml_is(x, NS_TEXT, "list-item") || docxml_is(x, NS_TEXT, "list-header")) {
		w->item_started = false;
	} else if (docxml_is(x, NS_TABLE, "table")) {
		if (w->p_depth == 0 && w->tbl_depth++ == 0) {
			slide_heading(w);
			flush_code(w);
		}
	} else if (docxml_is(x, NS_TABLE, "covered-table-cell") && w->tbl_depth == 1) {
		docmd_table_cell(w->m, "");
	} else if (docxml_is(x, NS_TABLE, "table-cell") && w->tbl_depth == 1) {
		buf_reset(&w->cell);
	} else if (docxml_is(x, NS_DRAW, "page") && w->presentation) {
		if (w->page_no >= w->lim->max_pages) {
			w->m->truncated = true; /* stops the walk: docmd_full */
			return;
		}
		slide_heading(w);
		flush_code(w);
		docmd_page(w->m);
		w->pages++;
		w->page_no++;
		w->heading_done = false;
		buf_reset(&w->slide_title);
	} else if (docxml_is(x, NS_DRAW, "frame") && w->presentation) {
		char *cls = docxml_attr(x, NS_PRES, "class");
		w->in_title_frame = cls && strcmp(cls, "title") == 0;
		free(cls);
	}
}

static void on_end(struct odf_walk *w, struct docxml *x)
{
	if (docxml_is(x, NS_STYLE, "style") || docxml_is(x, NS_TEXT, "list-style")) {
		w->cur_style = NULL;
	} else if (docxml_is(x, NS_TEXT, "p") || docxml_is(x, NS_TEXT, "h")) {
		if (w->p_depth == 1)
			end_paragraph(w);
		if (w->p_depth > 0)
			w->p_depth--;
	} else if (docxml_is(x, NS_TEXT, "span")) {
		if (w->span_mono && w->span_depth == w->mono_span_at)
			w->span_mono = false;
		if (w->span_depth > 0)
			w->span_depth--;
	} else if (docxml_is(x, NS_TEXT, "list")) {
		if (w->list_depth > 0 && --w->list_depth == 0)
			docmd_list_end(w->m);
		w->item_started = true; /* text after a nested list continues its parent item */
	} else if (docxml_is(x, NS_TABLE, "table-cell") && w->tbl_depth == 1) {
		docmd_table_cell(w->m, buf_str(&w->cell));
		buf_reset(&w->cell);
	} else if (docxml_is(x, NS_TABLE, "table-row") && w->tbl_depth == 1) {
		docmd_table_row_end(w->m);
	} else if (docxml_is(x, NS_TABLE, "table") && w->p_depth == 0 && w->tbl_depth > 0) {
		if (--w->tbl_depth == 0)
			docmd_table_end(w->m);
	} else if (docxml_is(x, NS_DRAW, "frame")) {
		w->in_title_frame = false;
	} else if (docxml_is(x, NS_DRAW, "page")) {
		flush_code(w);
		slide_heading(w);
	}
}

/* One pass over a part: styles.xml (definitions only: its text is page furniture) or content.xml. */
static enum doc_status walk_part(struct odf_walk *w, const char *xml, size_t len, const char *part, bool body,
                                 char **err)
{
	struct docxml x;
	docxml_open(&x, xml, len, part, w->lim);
	int rc;
	w->skip_depth = -1;
	while ((rc = docxml_next(&x)) == 1 && !docmd_full(w->m)) {
		if (w->skip_depth >= 0) {
			if (x.node == DOCXML_END && x.depth == w->skip_depth)
				w->skip_depth = -1;
			continue;
		}
		if (!body) {
			if (x.node == DOCXML_START)
				on_style(w, &x);
			else if (x.node == DOCXML_END && (docxml_is(&x, NS_STYLE, "style") ||
			                                  docxml_is(&x, NS_TEXT, "list-style")))
				w->cur_style = NULL;
		} else if (x.node == DOCXML_START) {
			on_start(w, &x);
		} else if (x.node == DOCXML_END) {
			on_end(w, &x);
		} else if (w->p_depth > 0) {
			put_text(w, docxml_text(&x));
		}
	}
	enum doc_status st = DOC_OK;
	if (rc < 0)
		st = docxml_take_error(&x, err);
	else if (body)
		flush_code(w);
	docxml_close(&x);
	return st;
}

static void walk_free(struct odf_walk *w)
{
	for (size_t i = 0; i < w->nstyles; i++) {
		free(w->styles[i].name);
		free(w->styles[i].parent);
	}
	free(w->styles);
	for (int i = 0; i < LIST_DEPTH; i++)
		free(w->list_style[i]);
	buf_free(&w->para);
	buf_free(&w->code);
	buf_free(&w->cell);
	buf_free(&w->slide_title);
	free(w->title);
}

enum doc_status odf_content_xml(const char *xml, size_t len, const struct doc_limits *lim, struct docmd *m,
                                char **err)
{
	struct odf_walk w = {.m = m, .lim = lim, .presentation = memmem(xml, len, "office:presentation", 19) != NULL};
	enum doc_status st = walk_part(&w, xml, len, "content.xml", true, err);
	walk_free(&w);
	return st;
}

enum doc_status doc_read_odf(struct doczip *z, const struct doc_limits *lim, struct doc_text *out, char **err)
{
	struct docmd m;
	docmd_init(&m, lim->max_output_bytes);
	struct odf_walk w = {.m = &m, .lim = lim, .presentation = out->format == DOC_FORMAT_ODP};
	enum doc_status st = DOC_OK;
	size_t len;
	if (doczip_has(z, "styles.xml")) {
		char *styles = doczip_read(z, "styles.xml", &len, &st, err);
		if (styles)
			st = walk_part(&w, styles, len, "styles.xml", false, err);
		free(styles);
	}
	if (st == DOC_OK && doczip_has(z, "meta.xml")) {
		char *meta = doczip_read(z, "meta.xml", &len, &st, err);
		if (meta)
			doc_meta_xml(meta, len, lim, &out->title, &out->author);
		free(meta);
	}
	char *content = st == DOC_OK ? doczip_read(z, "content.xml", &len, &st, err) : NULL;
	if (content)
		st = walk_part(&w, content, len, "content.xml", true, err);
	free(content);
	if (st == DOC_OK) {
		if (!out->title)
			out->title = w.title ? xstrdup(w.title) : m.first_heading ? xstrdup(m.first_heading) : NULL;
		docmd_finish(&m, out);
	} else {
		docmd_free(&m);
	}
	walk_free(&w);
	return st;
}
