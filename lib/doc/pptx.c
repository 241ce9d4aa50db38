/* PPTX: slides in presentation order (p:sldIdLst through the relationships), each a section titled by its
 * title placeholder; body text as paragraphs or list items by its bullets, monospace paragraphs as code,
 * a:tbl as pipe tables. Each slide is a page of the result. */
#include <stdlib.h>
#include <string.h>

#include "lib/doc/doc_int.h"
#include "lib/doc/docxml.h"
#include "lib/doc/ooxml_rels.h"
#include "lib/util/buf.h"
#include "lib/util/mem.h"

#define PPTX_LEVELS 9

struct slide_walk {
	struct docmd *m;       /* NULL in the title pass */
	struct buf title;
	struct buf para, plain, code, cell; /* para with `code` spans marked, plain without */
	bool in_title_shape, in_body_placeholder;
	int sp_depth;          /* p:sp elements open */
	int tbl_depth;
	bool in_t;
	bool run_mono, all_mono, any_text, span_open;
	int bullet;            /* 0 unset, 1 none, 2 char, 3 auto-number */
	int lvl;
	int counter[PPTX_LEVELS];
	int last_bullet;       /* of the last item written: a list of another kind starts a new list */
};

static void flush_code(struct slide_walk *w)
{
	if (w->m && w->code.len > 0)
		docmd_code(w->m, buf_str(&w->code));
	buf_reset(&w->code);
}

static void end_paragraph(struct slide_walk *w)
{
	if (w->span_open)
		buf_putc(&w->para, '`');
	w->span_open = false;
	const char *text = buf_str(&w->para);
	if (w->in_title_shape) {
		if (w->title.len && w->para.len)
			buf_putc(&w->title, ' ');
		buf_puts(&w->title, text);
	} else if (!w->m) {
		/* title pass: body text is not needed */
	} else if (w->tbl_depth > 0) {
		if (w->cell.len && w->para.len)
			buf_putc(&w->cell, ' ');
		buf_puts(&w->cell, text);
	} else if (w->any_text && w->all_mono) {
		buf_puts(&w->code, buf_str(&w->plain));
		buf_putc(&w->code, '\n');
	} else if (w->any_text) {
		flush_code(w);
		int lvl = w->lvl < 0 ? 0 : w->lvl >= PPTX_LEVELS ? PPTX_LEVELS - 1 : w->lvl;
		int bullet = w->bullet ? w->bullet : w->in_body_placeholder ? 2 : 1;
		if (bullet != w->last_bullet && lvl == 0)
			docmd_list_end(w->m);
		w->last_bullet = bullet;
		if (bullet == 3) {
			w->counter[lvl]++;
			char *marker = xasprintf("%d.", w->counter[lvl]);
			docmd_item(w->m, lvl, marker, text);
			free(marker);
		} else {
			memset(w->counter, 0, sizeof(w->counter));
			if (bullet == 2)
				docmd_item(w->m, lvl, "-", text);
			else
				docmd_para(w->m, text);
		}
	}
	buf_reset(&w->para);
	buf_reset(&w->plain);
	w->bullet = 0;
	w->lvl = 0;
	w->all_mono = true;
	w->any_text = false;
}

static void on_start(struct slide_walk *w, struct docxml *x)
{
	if (docxml_is(x, NS_P, "sp") || docxml_is(x, NS_P, "graphicFrame")) {
		if (w->sp_depth++ == 0)
			w->in_title_shape = w->in_body_placeholder = false;
	} else if (docxml_is(x, NS_P, "ph")) {
		char *type = docxml_attr(x, NULL, "type");
		w->in_title_shape = type && (strcmp(type, "title") == 0 || strcmp(type, "ctrTitle") == 0);
		w->in_body_placeholder = !type || strcmp(type, "body") == 0 || strcmp(type, "obj") == 0;
		free(type);
	} else if (docxml_is(x, NS_A, "tbl")) {
		if (w->tbl_depth++ == 0)
			flush_code(w);
	} else if (docxml_is(x, NS_A, "tc") && w->tbl_depth == 1) {
		buf_reset(&w->cell);
	} else if (docxml_is(x, NS_A, "p")) {
		buf_reset(&w->para);
		buf_reset(&w->plain);
		w->all_mono = true;
		w->any_text = false;
	} else if (docxml_is(x, NS_A, "pPr")) {
		char *v = docxml_attr(x, NULL, "lvl");
		w->lvl = v ? atoi(v) : 0;
		free(v);
	} else if (docxml_is(x, NS_A, "buNone")) {
		w->bullet = 1;
	} else if (docxml_is(x, NS_A, "buChar")) {
		w->bullet = 2;
	} else if (docxml_is(x, NS_A, "buAutoNum")) {
		w->bullet = 3;
	} else if (docxml_is(x, NS_A, "r")) {
		w->run_mono = false;
	} else if (docxml_is(x, NS_A, "latin")) {
		char *v = docxml_attr(x, NULL, "typeface");
		w->run_mono = doc_font_is_mono(v);
		free(v);
	} else if (docxml_is(x, NS_A, "t")) {
		w->in_t = true;
	} else if (docxml_is(x, NS_A, "br")) {
		buf_putc(&w->para, ' ');
		buf_putc(&w->plain, '\n');
	}
}

static void on_text(struct slide_walk *w, const char *s)
{
	bool blank = true;
	for (const char *p = s; *p && blank; p++)
		blank = *p == ' ' || *p == '\t' || *p == '\n';
	if (!blank) {
		w->any_text = true;
		w->all_mono = w->all_mono && w->run_mono;
	}
	/* both forms are kept until the paragraph ends: all monospace, it is a fence (plain); mixed, it is
	 * prose with `code` spans (para) */
	if (!blank && w->run_mono != w->span_open) {
		buf_putc(&w->para, '`');
		w->span_open = w->run_mono;
	}
	buf_puts(&w->para, s);
	buf_puts(&w->plain, s);
}

static void on_end(struct slide_walk *w, struct docxml *x)
{
	if (docxml_is(x, NS_P, "sp") || docxml_is(x, NS_P, "graphicFrame")) {
		if (w->sp_depth > 0 && --w->sp_depth == 0)
			w->in_title_shape = w->in_body_placeholder = false;
	} else if (docxml_is(x, NS_A, "t")) {
		w->in_t = false;
	} else if (docxml_is(x, NS_A, "p")) {
		end_paragraph(w);
	} else if (docxml_is(x, NS_A, "tc") && w->tbl_depth == 1 && w->m) {
		docmd_table_cell(w->m, buf_str(&w->cell));
		buf_reset(&w->cell);
	} else if (docxml_is(x, NS_A, "tr") && w->tbl_depth == 1 && w->m) {
		docmd_table_row_end(w->m);
	} else if (docxml_is(x, NS_A, "tbl") && w->tbl_depth > 0) {
		if (--w->tbl_depth == 0 && w->m)
			docmd_table_end(w->m);
	}
}

/* One pass over a slide: the title only (m NULL), or the body (title shapes skipped). */
static enum doc_status walk_slide(const char *xml, size_t len, const struct doc_limits *lim, struct docmd *m,
                                  struct buf *title, char **err)
{
	struct slide_walk w = {.m = m, .all_mono = true};
	struct docxml x;
	docxml_open(&x, xml, len, "slide", lim);
	int rc;
	while ((rc = docxml_next(&x)) == 1 && !(m && docmd_full(m))) {
		if (x.node == DOCXML_START)
			on_start(&w, &x);
		else if (x.node == DOCXML_END)
			on_end(&w, &x);
		else if (w.in_t)
			on_text(&w, docxml_text(&x));
	}
	enum doc_status st = DOC_OK;
	if (rc < 0)
		st = docxml_take_error(&x, err);
	else
		flush_code(&w);
	docxml_close(&x);
	if (title)
		docmd_collapse(title, buf_str(&w.title), w.title.len);
	buf_free(&w.title);
	buf_free(&w.para);
	buf_free(&w.plain);
	buf_free(&w.code);
	buf_free(&w.cell);
	return st;
}

enum doc_status pptx_slide_xml(const char *xml, size_t len, size_t number, const struct doc_limits *lim,
                               struct docmd *m, char **slide_title, char **err)
{
	struct buf title = BUF_INIT;
	enum doc_status st = walk_slide(xml, len, lim, NULL, &title, err);
	if (st == DOC_OK) {
		char *untitled = xasprintf("Slide %zu", number);
		docmd_heading(m, 1, title.len ? buf_str(&title) : untitled);
		free(untitled);
		st = walk_slide(xml, len, lim, m, NULL, err);
	}
	*slide_title = title.len ? buf_steal(&title) : NULL;
	buf_free(&title);
	return st;
}

/* The slide part names in presentation order (heap array of heap strings). */
static char **slide_names(const char *pres, size_t plen, const char *rels, size_t rlen,
                          const struct doc_limits *lim, size_t *n, enum doc_status *st, char **err)
{
	struct docxml x;
	docxml_open(&x, pres, plen, "ppt/presentation.xml", lim);
	char **names = NULL;
	*n = 0;
	int rc;
	while ((rc = docxml_next(&x)) == 1) {
		if (x.node != DOCXML_START || !docxml_is(&x, NS_P, "sldId"))
			continue;
		if (*n >= lim->max_entries) /* a slide is an entry: more ids than entries is a lie */
			break;
		char *rid = docxml_attr(&x, NS_R, "id");
		char *target = rid ? ooxml_rel_target(rels, rlen, lim, rid, NULL, "ppt/") : NULL;
		free(rid);
		if (!target)
			continue;
		names = xrealloc(names, (*n + 1) * sizeof(*names));
		names[(*n)++] = target;
	}
	if (rc < 0)
		*st = docxml_take_error(&x, err);
	docxml_close(&x);
	return names;
}

enum doc_status doc_read_pptx(struct doczip *z, const struct doc_limits *lim, struct doc_text *out, char **err)
{
	enum doc_status st = DOC_OK;
	size_t plen, rlen, len;
	char *pres = doczip_read(z, "ppt/presentation.xml", &plen, &st, err);
	if (!pres)
		return st;
	char *rels = doczip_read(z, "ppt/_rels/presentation.xml.rels", &rlen, &st, err);
	if (!rels) {
		free(pres);
		return st;
	}
	if (doczip_has(z, "docProps/core.xml")) {
		char *e2 = NULL;
		enum doc_status s2;
		char *core = doczip_read(z, "docProps/core.xml", &len, &s2, &e2);
		if (core)
			doc_meta_xml(core, len, lim, &out->title, &out->author);
		free(core);
		free(e2);
	}
	size_t n = 0;
	char **names = slide_names(pres, plen, rels, rlen, lim, &n, &st, err);
	free(pres);
	free(rels);
	struct docmd m;
	docmd_init(&m, lim->max_output_bytes);
	char *first_title = NULL;
	for (size_t i = 0; i < n && st == DOC_OK && !docmd_full(&m); i++) {
		if (i >= lim->max_pages) {
			out->truncated = true;
			break;
		}
		char *slide = doczip_read(z, names[i], &len, &st, err);
		if (!slide)
			break;
		docmd_page(&m);
		char *title = NULL;
		st = pptx_slide_xml(slide, len, i + 1, lim, &m, &title, err);
		if (!first_title)
			first_title = title;
		else
			free(title);
		free(slide);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (st != DOC_OK) {
		free(first_title);
		docmd_free(&m);
		return st;
	}
	if (!out->title)
		out->title = first_title;
	else
		free(first_title);
	docmd_finish(&m, out);
	return DOC_OK;
}
