/* EPUB: the package document named by META-INF/container.xml lists the chapters (manifest) and their reading
 * order (spine); each XHTML chapter goes through the HTML conversion of lib/text/html.h, and the chapters
 * are joined, each a page of the result. Spine items that are not (X)HTML are skipped, never opened. */
#include <stdlib.h>
#include <string.h>

#include "lib/doc/doc_int.h"
#include "lib/doc/docxml.h"
#include "lib/doc/ooxml_rels.h"
#include "lib/text/html.h"
#include "lib/util/buf.h"
#include "lib/util/mem.h"

struct item {
	char *id, *href, *type;
};

struct package {
	struct item *items;
	size_t nitems;
	char **spine; /* idrefs */
	size_t nspine;
};

static void package_free(struct package *p)
{
	for (size_t i = 0; i < p->nitems; i++) {
		free(p->items[i].id);
		free(p->items[i].href);
		free(p->items[i].type);
	}
	for (size_t i = 0; i < p->nspine; i++)
		free(p->spine[i]);
	free(p->items);
	free(p->spine);
}

static char *rootfile(const char *xml, size_t len, const struct doc_limits *lim)
{
	struct docxml x;
	docxml_open(&x, xml, len, "META-INF/container.xml", lim);
	char *path = NULL;
	while (!path && docxml_next(&x) == 1)
		if (x.node == DOCXML_START && docxml_is(&x, NS_CONTAINER, "rootfile"))
			path = docxml_attr(&x, NULL, "full-path");
	docxml_close(&x);
	return path;
}

/* Manifest and spine; both bounded by the zip's entry count (each item names an entry). */
static enum doc_status read_package(const char *xml, size_t len, const struct doc_limits *lim, struct package *p,
                                    char **err)
{
	struct docxml x;
	docxml_open(&x, xml, len, "EPUB package document", lim);
	int rc;
	while ((rc = docxml_next(&x)) == 1) {
		if (x.node != DOCXML_START)
			continue;
		if (docxml_is(&x, NS_OPF, "item") && p->nitems < lim->max_entries) {
			p->items = xrealloc(p->items, (p->nitems + 1) * sizeof(*p->items));
			p->items[p->nitems++] = (struct item){docxml_attr(&x, NULL, "id"), docxml_attr(&x, NULL, "href"),
			                                      docxml_attr(&x, NULL, "media-type")};
		} else if (docxml_is(&x, NS_OPF, "itemref") && p->nspine < lim->max_entries) {
			char *idref = docxml_attr(&x, NULL, "idref");
			if (idref) {
				p->spine = xrealloc(p->spine, (p->nspine + 1) * sizeof(*p->spine));
				p->spine[p->nspine++] = idref;
			}
		}
	}
	enum doc_status st = rc < 0 ? docxml_take_error(&x, err) : DOC_OK;
	docxml_close(&x);
	return st;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* An href as a zip entry name relative to the package document's folder: fragment dropped,
 * percent-escapes decoded. */
static char *entry_name(const char *dir, const char *href)
{
	struct buf b = BUF_INIT;
	for (const char *s = href; *s && *s != '#'; s++) {
		if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			buf_putc(&b, (char)(hexval(s[1]) * 16 + hexval(s[2])));
			s += 2;
		} else {
			buf_putc(&b, *s);
		}
	}
	char *name = ooxml_resolve(dir, buf_str(&b)); /* "../" as in OOXML relationship targets */
	buf_free(&b);
	return name;
}

static const struct item *find_item(const struct package *p, const char *id)
{
	for (size_t i = 0; i < p->nitems; i++)
		if (p->items[i].id && strcmp(p->items[i].id, id) == 0)
			return &p->items[i];
	return NULL;
}

static bool is_html(const char *type)
{
	return type && (strcmp(type, "application/xhtml+xml") == 0 || strcmp(type, "text/html") == 0);
}

static enum doc_status read_chapters(struct doczip *z, const struct package *p, const char *dir,
                                     const struct doc_limits *lim, struct docmd *m, bool *truncated, char **err)
{
	size_t chapters = 0;
	for (size_t i = 0; i < p->nspine && !docmd_full(m); i++) {
		const struct item *it = find_item(p, p->spine[i]);
		if (!it || !it->href || !is_html(it->type))
			continue;
		if (chapters++ >= lim->max_pages) {
			*truncated = true;
			break;
		}
		char *name = entry_name(dir, it->href);
		size_t len;
		enum doc_status st;
		char *data = doczip_read(z, name, &len, &st, err);
		free(name);
		if (!data)
			return st;
		struct html_doc d;
		char *herr = NULL;
		docmd_page(m);
		if (html_doc_convert(data, len, HTML_FORMAT_HTML, NULL, &d, &herr) == 0) {
			docmd_raw(m, d.markdown, d.markdown_len);
			html_doc_free(&d);
		}
		free(herr); /* a chapter that is not text is skipped, like a missing image */
		free(data);
	}
	return DOC_OK;
}

enum doc_status doc_read_epub(struct doczip *z, const struct doc_limits *lim, struct doc_text *out, char **err)
{
	size_t len;
	enum doc_status st;
	char *container = doczip_read(z, "META-INF/container.xml", &len, &st, err);
	if (!container)
		return st;
	char *opf_name = rootfile(container, len, lim);
	free(container);
	if (!opf_name)
		return doc_fail(err, DOC_MALFORMED, "EPUB: META-INF/container.xml names no package document");
	char *opf = doczip_read(z, opf_name, &len, &st, err);
	if (!opf) {
		free(opf_name);
		return st;
	}
	struct package p = {0};
	st = read_package(opf, len, lim, &p, err);
	if (st == DOC_OK)
		doc_meta_xml(opf, len, lim, &out->title, &out->author);
	free(opf);
	char *dir = ooxml_dir(opf_name);
	free(opf_name);
	struct docmd m;
	docmd_init(&m, lim->max_output_bytes);
	if (st == DOC_OK)
		st = read_chapters(z, &p, dir, lim, &m, &out->truncated, err);
	free(dir);
	package_free(&p);
	if (st != DOC_OK) {
		docmd_free(&m);
		return st;
	}
	if (!out->title && m.first_heading)
		out->title = xstrdup(m.first_heading);
	docmd_finish(&m, out);
	return DOC_OK;
}
