/* PDF through poppler's GLib API: the text of each page, the info dictionary's title and author, and the
 * outline (bookmarks) as headings at their pages; pdftext.c shapes the text. */
#include <glib.h>
#include <poppler.h>
#include <stdlib.h>
#include <string.h>

#include "lib/doc/doc_int.h"
#include "lib/doc/pdftext.h"
#include "lib/util/mem.h"

#define MAX_OUTLINE 20000 /* bookmarks kept; a real book has a few thousand */
#define MAX_OUTLINE_DEPTH 16

struct outline_list {
	struct pdf_outline *items;
	size_t n, cap;
};

/* The 0-based page an action goes to, or -1 (named destinations are looked up). */
static long action_page(PopplerDocument *doc, PopplerAction *a)
{
	if (!a || a->type != POPPLER_ACTION_GOTO_DEST || !a->goto_dest.dest)
		return -1;
	PopplerDest *d = a->goto_dest.dest;
	long page = -1;
	if (d->type == POPPLER_DEST_NAMED && d->named_dest) {
		PopplerDest *nd = poppler_document_find_dest(doc, d->named_dest);
		if (nd) {
			page = nd->page_num - 1;
			poppler_dest_free(nd);
		}
	} else {
		page = d->page_num - 1;
	}
	return page;
}

static void walk_outline(PopplerDocument *doc, PopplerIndexIter *it, int level, struct outline_list *out)
{
	do {
		if (out->n >= MAX_OUTLINE)
			return;
		PopplerAction *a = poppler_index_iter_get_action(it);
		long page = action_page(doc, a);
		if (page >= 0 && a->any.title && *a->any.title) {
			if (out->n == out->cap) {
				out->cap = out->cap ? out->cap * 2 : 64;
				out->items = xrealloc(out->items, out->cap * sizeof(*out->items));
			}
			out->items[out->n++] = (struct pdf_outline){xstrdup(a->any.title), level > 6 ? 6 : level,
			                                            (size_t)page};
		}
		if (a)
			poppler_action_free(a);
		PopplerIndexIter *child = poppler_index_iter_get_child(it);
		if (child) {
			if (level < MAX_OUTLINE_DEPTH)
				walk_outline(doc, child, level + 1, out);
			poppler_index_iter_free(child);
		}
	} while (poppler_index_iter_next(it));
}

static char *dup_or_null(gchar *s)
{
	char *r = s && *s ? xstrdup(s) : NULL;
	g_free(s);
	return r;
}

enum doc_status doc_read_pdf(const char *data, size_t len, const struct doc_limits *lim, struct doc_text *out,
                             char **err)
{
	GError *gerr = NULL;
	GBytes *bytes = g_bytes_new_static(data, len);
	PopplerDocument *doc = poppler_document_new_from_bytes(bytes, NULL, &gerr);
	g_bytes_unref(bytes);
	if (!doc) {
		enum doc_status st = gerr && gerr->domain == POPPLER_ERROR && gerr->code == POPPLER_ERROR_ENCRYPTED
		                             ? doc_fail(err, DOC_ENCRYPTED, "encrypted PDF")
		                             : doc_fail(err, DOC_MALFORMED, "unreadable PDF: %.200s",
		                                        gerr && gerr->message ? gerr->message : "poppler failed");
		if (gerr)
			g_error_free(gerr);
		return st;
	}
	out->title = dup_or_null(poppler_document_get_title(doc));
	out->author = dup_or_null(poppler_document_get_author(doc));
	int n = poppler_document_get_n_pages(doc);
	size_t npages = n > 0 ? (size_t)n : 0;
	if (npages > lim->max_pages) {
		npages = lim->max_pages;
		out->truncated = true;
	}
	struct outline_list ol = {0};
	PopplerIndexIter *it = poppler_index_iter_new(doc);
	if (it) {
		walk_outline(doc, it, 1, &ol);
		poppler_index_iter_free(it);
	}
	/* the outline is in document order; a stable sort by page keeps that order within a page */
	for (size_t i = 1; i < ol.n; i++) { /* insertion sort: outlines are nearly sorted already */
		struct pdf_outline v = ol.items[i];
		size_t j = i;
		for (; j > 0 && ol.items[j - 1].page > v.page; j--)
			ol.items[j] = ol.items[j - 1];
		ol.items[j] = v;
	}
	char **texts = xcalloc(npages + 1, sizeof(*texts));
	size_t total = 0;
	for (size_t p = 0; p < npages; p++) {
		PopplerPage *page = poppler_document_get_page(doc, (int)p);
		if (!page)
			continue;
		gchar *t = poppler_page_get_text(page);
		g_object_unref(page);
		texts[p] = t ? xstrdup(t) : NULL;
		g_free(t);
		total += texts[p] ? strlen(texts[p]) : 0;
		if (total > lim->max_output_bytes) { /* the text will be cut there anyway */
			out->truncated = true;
			npages = p + 1;
			break;
		}
	}
	g_object_unref(doc);

	struct docmd m;
	docmd_init(&m, lim->max_output_bytes);
	pdftext_write(texts, npages, ol.items, ol.n, &m);
	if (!out->title)
		out->title = pdftext_first_line(texts, npages);
	for (size_t p = 0; p < npages; p++)
		free(texts[p]);
	free(texts);
	for (size_t i = 0; i < ol.n; i++)
		free(ol.items[i].title);
	free(ol.items);
	docmd_finish(&m, out);
	return DOC_OK;
}
