/* DOCX: word/document.xml to Markdown-like text. Headings come from paragraph styles (their names, "heading
 * N", or their outline level), lists from numbering definitions, code from monospace or code-named styles,
 * tables from w:tbl; styles.xml and numbering.xml say what each style and list is. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/doc/doc_int.h"
#include "lib/doc/docxml.h"
#include "lib/doc/ooxml_rels.h"
#include "lib/util/buf.h"
#include "lib/util/mem.h"

#define NS_MC "http://schemas.openxmlformats.org/markup-compatibility/2006"
#define MAX_STYLES 4096 /* more are ignored: a real document has a few hundred */
#define MAX_LISTS 4096
#define LIST_LEVELS 9

struct style {
	char *id, *name, *based_on;
	int outline; /* 0..8 from w:outlineLvl, -1 when not set */
	int mono;    /* 1 monospace font, 0 other font, -1 not set */
};

struct list_def {
	char *num_id, *abstract_id;
	int count[LIST_LEVELS];
};

struct abstract_def {
	char *id;
	bool ordered[LIST_LEVELS];
};

struct docx_defs {
	struct style *styles;
	size_t nstyles;
	struct list_def *lists;
	size_t nlists;
	struct abstract_def *abstracts;
	size_t nabstracts;
};

static void defs_free(struct docx_defs *d)
{
	for (size_t i = 0; i < d->nstyles; i++) {
		free(d->styles[i].id);
		free(d->styles[i].name);
		free(d->styles[i].based_on);
	}
	for (size_t i = 0; i < d->nlists; i++) {
		free(d->lists[i].num_id);
		free(d->lists[i].abstract_id);
	}
	for (size_t i = 0; i < d->nabstracts; i++)
		free(d->abstracts[i].id);
	free(d->styles);
	free(d->lists);
	free(d->abstracts);
	memset(d, 0, sizeof(*d));
}

static const struct style *find_style(const struct docx_defs *d, const char *id)
{
	for (size_t i = 0; id && i < d->nstyles; i++)
		if (d->styles[i].id && strcmp(d->styles[i].id, id) == 0)
			return &d->styles[i];
	return NULL;
}

/* The heading level of a paragraph style (1..6), 0 for none, -1 for the document title; follows basedOn. */
static int style_heading(const struct docx_defs *d, const char *id)
{
	const struct style *s = find_style(d, id);
	for (int hop = 0; s && hop < 10; hop++) {
		if (s->name) {
			if (strcasecmp(s->name, "title") == 0)
				return -1;
			if (strncasecmp(s->name, "heading ", 8) == 0 && s->name[8] >= '1' && s->name[8] <= '9')
				return s->name[8] - '0' > 6 ? 6 : s->name[8] - '0';
		}
		if (s->outline >= 0 && s->outline < 9)
			return s->outline + 1 > 6 ? 6 : s->outline + 1;
		s = find_style(d, s->based_on);
	}
	if (!d->nstyles && id) { /* no styles.xml: pandoc's and Word's English style ids */
		if (strcasecmp(id, "Title") == 0)
			return -1;
		if (strncasecmp(id, "Heading", 7) == 0 && id[7] >= '1' && id[7] <= '9' && !id[8])
			return id[7] - '0' > 6 ? 6 : id[7] - '0';
	}
	return 0;
}

static bool name_is_code(const char *name)
{
	static const char *const code[] = {"code", "source", "verbatim", "preformatted", "plain text",
	                                   "macro text", "listing"};
	if (!name)
		return false;
	for (size_t i = 0; i < sizeof(code) / sizeof(code[0]); i++)
		if (strcasestr(name, code[i]))
			return true;
	return false;
}

/* True when a paragraph or character style is code: a code-like name or a monospace font, inherited. */
static bool style_code(const struct docx_defs *d, const char *id)
{
	if (!d->nstyles)
		return name_is_code(id);
	const struct style *s = find_style(d, id);
	for (int hop = 0; s && hop < 10; hop++) {
		if (s->mono >= 0)
			return s->mono == 1;
		if (name_is_code(s->name) || name_is_code(s->id))
			return true;
		s = find_style(d, s->based_on);
	}
	return false;
}

static void read_styles(const char *xml, size_t len, const struct doc_limits *lim, struct docx_defs *d)
{
	struct docxml x;
	docxml_open(&x, xml, len, "styles.xml", lim);
	struct style *cur = NULL;
	while (docxml_next(&x) == 1) {
		if (x.node == DOCXML_END) {
			if (docxml_is(&x, NS_W, "style"))
				cur = NULL;
			continue;
		}
		if (x.node != DOCXML_START)
			continue;
		if (docxml_is(&x, NS_W, "style")) {
			if (d->nstyles >= MAX_STYLES)
				continue;
			d->styles = xrealloc(d->styles, (d->nstyles + 1) * sizeof(*d->styles));
			cur = &d->styles[d->nstyles++];
			*cur = (struct style){docxml_attr(&x, NS_W, "styleId"), NULL, NULL, -1, -1};
		} else if (cur && docxml_is(&x, NS_W, "name") && !cur->name) {
			cur->name = docxml_attr(&x, NS_W, "val");
		} else if (cur && docxml_is(&x, NS_W, "basedOn") && !cur->based_on) {
			cur->based_on = docxml_attr(&x, NS_W, "val");
		} else if (cur && docxml_is(&x, NS_W, "outlineLvl")) {
			char *v = docxml_attr(&x, NS_W, "val");
			cur->outline = v ? atoi(v) : -1;
			free(v);
		} else if (cur && docxml_is(&x, NS_W, "rFonts")) {
			char *f = docxml_attr(&x, NS_W, "ascii");
			if (f)
				cur->mono = doc_font_is_mono(f);
			free(f);
		}
	}
	docxml_close(&x);
}

static void read_numbering(const char *xml, size_t len, const struct doc_limits *lim, struct docx_defs *d)
{
	struct docxml x;
	docxml_open(&x, xml, len, "numbering.xml", lim);
	struct abstract_def *abs = NULL;
	struct list_def *num = NULL;
	int lvl = -1;
	while (docxml_next(&x) == 1) {
		if (x.node == DOCXML_END) {
			if (docxml_is(&x, NS_W, "abstractNum"))
				abs = NULL;
			else if (docxml_is(&x, NS_W, "num"))
				num = NULL;
			continue;
		}
		if (x.node != DOCXML_START)
			continue;
		if (docxml_is(&x, NS_W, "abstractNum") && d->nabstracts < MAX_LISTS) {
			d->abstracts = xrealloc(d->abstracts, (d->nabstracts + 1) * sizeof(*d->abstracts));
			abs = &d->abstracts[d->nabstracts++];
			memset(abs, 0, sizeof(*abs));
			abs->id = docxml_attr(&x, NS_W, "abstractNumId");
		} else if (abs && docxml_is(&x, NS_W, "lvl")) {
			char *v = docxml_attr(&x, NS_W, "ilvl");
			lvl = v ? atoi(v) : -1;
			free(v);
		} else if (abs && docxml_is(&x, NS_W, "numFmt") && lvl >= 0 && lvl < LIST_LEVELS) {
			char *v = docxml_attr(&x, NS_W, "val");
			abs->ordered[lvl] = v && strcmp(v, "bullet") != 0 && strcmp(v, "none") != 0;
			free(v);
		} else if (docxml_is(&x, NS_W, "num") && d->nlists < MAX_LISTS) {
			d->lists = xrealloc(d->lists, (d->nlists + 1) * sizeof(*d->lists));
			num = &d->lists[d->nlists++];
			memset(num, 0, sizeof(*num));
			num->num_id = docxml_attr(&x, NS_W, "numId");
		} else if (num && docxml_is(&x, NS_W, "abstractNumId") && !num->abstract_id) {
			num->abstract_id = docxml_attr(&x, NS_W, "val");
		}
	}
	docxml_close(&x);
}

/* The marker of the next item of list num_id at level lvl: "-" or "N." (counting per list and level). */
static char *list_marker(struct docx_defs *d, const char *num_id, int lvl)
{
	struct list_def *l = NULL;
	for (size_t i = 0; num_id && i < d->nlists && !l; i++)
		if (d->lists[i].num_id && strcmp(d->lists[i].num_id, num_id) == 0)
			l = &d->lists[i];
	if (!l)
		return xstrdup("-");
	bool ordered = false;
	for (size_t i = 0; i < d->nabstracts; i++)
		if (l->abstract_id && d->abstracts[i].id && strcmp(d->abstracts[i].id, l->abstract_id) == 0)
			ordered = d->abstracts[i].ordered[lvl];
	l->count[lvl]++;
	for (int k = lvl + 1; k < LIST_LEVELS; k++)
		l->count[k] = 0;
	return ordered ? xasprintf("%d.", l->count[lvl]) : xstrdup("-");
}

/* The state of the walk over w:body. */
struct walk {
	struct docx_defs *defs;
	struct docmd *m;
	struct buf para;    /* text of the paragraph being read */
	struct buf code;    /* consecutive code paragraphs, waiting for a non-code block */
	struct buf cell;    /* text of the table cell being read */
	char *pstyle, *num_id;
	int ilvl, outline;  /* from the paragraph's w:pPr; outline -1 when not set */
	int p_depth;        /* paragraphs open (a text box nests one inside another) */
	int tbl_depth;
	bool in_t;          /* inside w:t */
	bool run_mono, span_open;
	bool para_code;
	char *title;        /* the first Title-style paragraph */
	char *last_list;    /* numId of the last list item written: another id starts a new list */
	int skip_depth;     /* inside mc:Fallback (a copy of mc:Choice) when >= 0 */
};

static void flush_code(struct walk *w)
{
	if (w->code.len > 0)
		docmd_code(w->m, buf_str(&w->code));
	buf_reset(&w->code);
}

static void end_paragraph(struct walk *w)
{
	if (w->span_open)
		buf_putc(&w->para, '`');
	w->span_open = false;
	const char *text = buf_str(&w->para);
	if (w->tbl_depth > 0) {
		if (w->cell.len && w->para.len)
			buf_putc(&w->cell, ' ');
		buf_append(&w->cell, w->para.data ? w->para.data : "", w->para.len);
	} else {
		int level = style_heading(w->defs, w->pstyle);
		if (w->outline >= 0 && w->outline < 6 && level == 0)
			level = w->outline + 1;
		if (w->para_code && level == 0) {
			buf_append(&w->code, text, w->para.len);
			buf_putc(&w->code, '\n');
		} else {
			flush_code(w);
			if (level == -1) {
				if (!w->title) {
					struct buf t = BUF_INIT;
					docmd_collapse(&t, text, w->para.len);
					w->title = buf_steal(&t);
				}
			} else if (level > 0) {
				docmd_heading(w->m, level, text);
			} else if (w->num_id && strcmp(w->num_id, "0") != 0) {
				int lvl = w->ilvl < 0 ? 0 : w->ilvl >= LIST_LEVELS ? LIST_LEVELS - 1 : w->ilvl;
				if (lvl == 0 && w->last_list && strcmp(w->last_list, w->num_id) != 0)
					docmd_list_end(w->m);
				if (lvl == 0) {
					free(w->last_list);
					w->last_list = xstrdup(w->num_id);
				}
				char *marker = list_marker(w->defs, w->num_id, lvl);
				docmd_item(w->m, lvl, marker, text);
				free(marker);
			} else {
				docmd_para(w->m, text);
			}
		}
	}
	buf_reset(&w->para);
	free(w->pstyle);
	free(w->num_id);
	w->pstyle = w->num_id = NULL;
	w->ilvl = 0;
	w->outline = -1;
	w->para_code = false;
}

static void put_text(struct walk *w, const char *s)
{
	if (!w->para_code && w->run_mono != w->span_open && *s) {
		buf_putc(&w->para, '`');
		w->span_open = w->run_mono;
	}
	buf_puts(&w->para, s);
}

static void on_start(struct walk *w, struct docxml *x)
{
	if (docxml_is(x, NS_MC, "Fallback")) {
		w->skip_depth = x->depth;
		return;
	}
	if (docxml_is(x, NS_W, "p")) {
		w->p_depth++;
	} else if (docxml_is(x, NS_W, "tbl")) {
		if (w->p_depth == 0 && w->tbl_depth++ == 0)
			flush_code(w);
	} else if (docxml_is(x, NS_W, "tc") && w->tbl_depth == 1) {
		buf_reset(&w->cell);
	} else if (docxml_is(x, NS_W, "pStyle") && w->p_depth == 1 && !w->pstyle) {
		w->pstyle = docxml_attr(x, NS_W, "val");
		w->para_code = style_code(w->defs, w->pstyle); /* looked up once, not per run */
	} else if (docxml_is(x, NS_W, "numId") && w->p_depth == 1 && !w->num_id) {
		w->num_id = docxml_attr(x, NS_W, "val");
	} else if ((docxml_is(x, NS_W, "ilvl") || docxml_is(x, NS_W, "outlineLvl")) && w->p_depth == 1) {
		char *v = docxml_attr(x, NS_W, "val");
		*(docxml_is(x, NS_W, "ilvl") ? &w->ilvl : &w->outline) = v ? atoi(v) : 0;
		free(v);
	} else if (docxml_is(x, NS_W, "r")) {
		w->run_mono = false;
	} else if (docxml_is(x, NS_W, "rStyle")) {
		char *v = docxml_attr(x, NS_W, "val");
		w->run_mono = w->run_mono || style_code(w->defs, v);
		free(v);
	} else if (docxml_is(x, NS_W, "rFonts")) {
		char *v = docxml_attr(x, NS_W, "ascii");
		if (v)
			w->run_mono = doc_font_is_mono(v);
		free(v);
	} else if (docxml_is(x, NS_W, "t")) {
		w->in_t = true;
	} else if (docxml_is(x, NS_W, "tab")) {
		if (w->p_depth > 0)
			buf_putc(&w->para, w->para_code ? '\t' : ' ');
	} else if (docxml_is(x, NS_W, "br") || docxml_is(x, NS_W, "cr")) {
		if (w->p_depth > 0)
			buf_putc(&w->para, w->para_code ? '\n' : ' ');
	}
}

static void on_end(struct walk *w, struct docxml *x)
{
	if (docxml_is(x, NS_W, "p")) {
		if (w->p_depth == 1)
			end_paragraph(w);
		else if (w->p_depth > 1)
			buf_putc(&w->para, ' '); /* a text box paragraph inside this one */
		if (w->p_depth > 0)
			w->p_depth--;
	} else if (docxml_is(x, NS_W, "t")) {
		w->in_t = false;
	} else if (docxml_is(x, NS_W, "tc") && w->tbl_depth == 1 && w->p_depth == 0) {
		docmd_table_cell(w->m, buf_str(&w->cell));
		buf_reset(&w->cell);
	} else if (docxml_is(x, NS_W, "tr") && w->tbl_depth == 1 && w->p_depth == 0) {
		docmd_table_row_end(w->m);
	} else if (docxml_is(x, NS_W, "tbl") && w->p_depth == 0 && w->tbl_depth > 0) {
		if (--w->tbl_depth == 0)
			docmd_table_end(w->m);
	}
}

static enum doc_status walk_body(struct docx_defs *defs, const char *xml, size_t len, const struct doc_limits *lim,
                                 struct docmd *m, char **title, char **err)
{
	struct walk w = {.defs = defs, .m = m, .outline = -1, .skip_depth = -1};
	struct docxml x;
	docxml_open(&x, xml, len, "word/document.xml", lim);
	int rc;
	while ((rc = docxml_next(&x)) == 1 && !docmd_full(m)) {
		if (w.skip_depth >= 0) {
			if (x.node == DOCXML_END && x.depth == w.skip_depth)
				w.skip_depth = -1;
			continue;
		}
		if (x.node == DOCXML_START)
			on_start(&w, &x);
		else if (x.node == DOCXML_END)
			on_end(&w, &x);
		else if (w.in_t && w.p_depth > 0)
			put_text(&w, docxml_text(&x));
	}
	enum doc_status st = DOC_OK;
	if (rc < 0)
		st = docxml_take_error(&x, err);
	else
		flush_code(&w);
	docxml_close(&x);
	if (title && !*title)
		*title = w.title;
	else
		free(w.title);
	buf_free(&w.para);
	buf_free(&w.code);
	buf_free(&w.cell);
	free(w.pstyle);
	free(w.num_id);
	free(w.last_list);
	return st;
}

enum doc_status docx_body_xml(const char *xml, size_t len, const struct doc_limits *lim, struct docmd *m,
                              char **err)
{
	struct docx_defs defs = {0};
	enum doc_status st = walk_body(&defs, xml, len, lim, m, NULL, err);
	defs_free(&defs);
	return st;
}

/* An optional part: read when present and within bounds, else NULL (the reader falls back). */
static char *optional_part(struct doczip *z, const char *name, size_t *len)
{
	enum doc_status st;
	char *err = NULL;
	char *data = doczip_has(z, name) ? doczip_read(z, name, len, &st, &err) : NULL;
	free(err);
	return data;
}

enum doc_status doc_read_docx(struct doczip *z, const struct doc_limits *lim, struct doc_text *out, char **err)
{
	size_t len;
	char *rels = optional_part(z, "_rels/.rels", &len);
	char *main = rels ? ooxml_rel_target(rels, len, lim, NULL, "/officeDocument", "") : NULL;
	free(rels);
	if (!main)
		main = xstrdup("word/document.xml");
	char *dir = ooxml_dir(main);
	struct docx_defs defs = {0};
	char *name = xasprintf("%sstyles.xml", dir);
	char *part = optional_part(z, name, &len);
	if (part)
		read_styles(part, len, lim, &defs);
	free(part);
	free(name);
	name = xasprintf("%snumbering.xml", dir);
	part = optional_part(z, name, &len);
	if (part)
		read_numbering(part, len, lim, &defs);
	free(part);
	free(name);
	free(dir);
	part = optional_part(z, "docProps/core.xml", &len);
	if (part)
		doc_meta_xml(part, len, lim, &out->title, &out->author);
	free(part);

	enum doc_status st;
	char *body = doczip_read(z, main, &len, &st, err);
	free(main);
	if (!body) {
		defs_free(&defs);
		return st;
	}
	struct docmd m;
	docmd_init(&m, lim->max_output_bytes);
	st = walk_body(&defs, body, len, lim, &m, &out->title, err);
	free(body);
	defs_free(&defs);
	if (st == DOC_OK) {
		if (!out->title && m.first_heading)
			out->title = xstrdup(m.first_heading);
		docmd_finish(&m, out);
	} else {
		docmd_free(&m);
	}
	return st;
}
