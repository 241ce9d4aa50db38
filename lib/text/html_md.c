/* HTML to Markdown-like text: an iterative walk of libxml2's tree driving a small line-oriented emitter. */
#include "lib/text/html_md.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "lib/util/buf.h"
#include "lib/text/html_emit.h"
#include "lib/text/html_lang.h"
#include "lib/util/mem.h"
#include "lib/text/textstats.h"
#include "lib/text/utf8.h"

#define COLSPAN_MAX 32

enum tag {
	T_INLINE, T_DROP, T_BLOCK, T_KEEP, T_HEADER, T_HEADING, T_UL, T_OL, T_LI, T_PRE, T_CODE, T_BR, T_HR,
	T_TABLE, T_ROWGROUP, T_TR, T_CELL, T_TITLE, T_META,
};

/* What enter did to a node, so that leave undoes exactly that (kept in node->_private above bit 0). */
enum action {
	A_NONE, A_BLOCK, A_KEEP, A_HEADING, A_LIST, A_LI, A_PRE, A_PRE_INNER, A_CODE, A_TABLE, A_ROW, A_CELL,
};

#define MARK_COMPLEX 1u /* bit 0 of _private: a table holding a <pre> or another table */

/* Sorted by name for bsearch. */
static const struct tagdef {
	const char *name;
	unsigned char tag;
} tagdefs[] = {
	{"address", T_BLOCK},   {"article", T_KEEP},     {"aside", T_BLOCK},    {"audio", T_DROP},
	{"blockquote", T_BLOCK}, {"body", T_BLOCK},      {"br", T_BR},          {"button", T_DROP},
	{"canvas", T_DROP},     {"caption", T_BLOCK},    {"center", T_BLOCK},   {"code", T_CODE},
	{"dd", T_BLOCK},        {"details", T_BLOCK},    {"dialog", T_DROP},    {"dir", T_UL},
	{"div", T_BLOCK},       {"dl", T_BLOCK},         {"dt", T_BLOCK},       {"embed", T_DROP},
	{"fieldset", T_BLOCK},  {"figcaption", T_BLOCK}, {"figure", T_BLOCK},   {"footer", T_HEADER},
	{"form", T_DROP},       {"frameset", T_DROP},    {"h1", T_HEADING},     {"h2", T_HEADING},
	{"h3", T_HEADING},      {"h4", T_HEADING},       {"h5", T_HEADING},     {"h6", T_HEADING},
	{"header", T_HEADER},   {"hgroup", T_BLOCK},     {"hr", T_HR},          {"html", T_BLOCK},
	{"iframe", T_DROP},     {"img", T_DROP},         {"input", T_DROP},     {"kbd", T_CODE},
	{"legend", T_BLOCK},    {"li", T_LI},            {"listing", T_PRE},    {"main", T_KEEP},
	{"map", T_DROP},        {"math", T_DROP},        {"menu", T_DROP},      {"meta", T_META},
	{"nav", T_DROP},        {"noembed", T_DROP},     {"noframes", T_DROP},  {"noscript", T_DROP},
	{"object", T_DROP},     {"ol", T_OL},            {"option", T_DROP},    {"p", T_BLOCK},
	{"picture", T_DROP},    {"plaintext", T_PRE},    {"pre", T_PRE},        {"samp", T_CODE},
	{"script", T_DROP},     {"section", T_KEEP},     {"select", T_DROP},    {"style", T_DROP},
	{"summary", T_BLOCK},   {"svg", T_DROP},         {"table", T_TABLE},    {"tbody", T_ROWGROUP},
	{"td", T_CELL},         {"template", T_DROP},    {"textarea", T_DROP},  {"tfoot", T_ROWGROUP},
	{"th", T_CELL},         {"thead", T_ROWGROUP},   {"title", T_TITLE},    {"tr", T_TR},
	{"tt", T_CODE},         {"ul", T_UL},            {"video", T_DROP},     {"xmp", T_PRE},
};

/* Class and id words that mark page furniture (matched as the first or last '-'/'_'-separated word of a
 * token, so "main-menu" and "sidebar-left" match but "menuchoice" and "content-sidebar-wrap" do not). */
static const char *const furniture[] = {
	"breadcrumb", "breadcrumbs", "cookie", "cookies", "menu", "nav", "navbar", "navfooter", "navheader",
	"sidebar", NULL,
};

/* ---- small helpers ------------------------------------------------------------------------- */

static int tag_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct tagdef *)elem)->name);
}

static int tag_of(const xmlChar *name)
{
	size_t n = sizeof(tagdefs) / sizeof(tagdefs[0]);
	const struct tagdef *d = bsearch(name, tagdefs, n, sizeof(tagdefs[0]), tag_cmp);
	return d ? d->tag : T_INLINE;
}

static const char *attr(const xmlNode *n, const char *name)
{
	for (const xmlAttr *a = n->properties; a; a = a->next) {
		if (!a->name || strcasecmp((const char *)a->name, name))
			continue;
		const xmlNode *v = a->children;
		return v && v->type == XML_TEXT_NODE && v->content ? (const char *)v->content : "";
	}
	return NULL;
}

static unsigned action_of(const xmlNode *n)
{
	return (unsigned)((uintptr_t)n->_private >> 1);
}

static void set_action(xmlNode *n, unsigned a)
{
	n->_private = (void *)(((uintptr_t)a << 1) | ((uintptr_t)n->_private & MARK_COMPLEX));
}

static void pre_language(const xmlNode *pre, char lang[CODEBLOCK_LANG_MAX + 1])
{
	const xmlNode *cand[4] = {pre, NULL, pre->parent, pre->parent ? pre->parent->parent : NULL};
	for (const xmlNode *k = pre->children; k; k = k->next) {
		if (k->type == XML_ELEMENT_NODE) {
			if (!strcmp((const char *)k->name, "code"))
				cand[1] = k;
			break;
		}
	}
	for (int i = 0; i < 4; i++) {
		if (!cand[i] || cand[i]->type != XML_ELEMENT_NODE)
			continue;
		const char *v = attr(cand[i], "data-lang");
		char tmp[CODEBLOCK_LANG_MAX + 16];
		if (v && *v) {
			snprintf(tmp, sizeof(tmp), "lang-%s", v);
			if (html_lang_from_class(tmp, lang))
				return;
		}
		v = attr(cand[i], "class");
		if (v && html_lang_from_class(v, lang))
			return;
	}
	lang[0] = '\0';
}

/* ---- elements ------------------------------------------------------------------------------ */

static bool furniture_word(const char *w, size_t n)
{
	for (const char *const *f = furniture; *f; f++)
		if (strlen(*f) == n && !strncasecmp(*f, w, n))
			return true;
	return false;
}

static bool furniture_token(const char *t, size_t n)
{
	static const char *const modifiers[] = {"has-", "with-", "no-", "is-", NULL};
	for (const char *const *m = modifiers; *m; m++)
		if (n > strlen(*m) && !strncasecmp(t, *m, strlen(*m)))
			return false;
	size_t a = 0, b = n;
	while (a < n && t[a] != '-' && t[a] != '_')
		a++;
	while (b > 0 && t[b - 1] != '-' && t[b - 1] != '_')
		b--;
	return furniture_word(t, a) || furniture_word(t + b, n - b);
}

static bool furniture_attr(const char *v)
{
	while (*v) {
		while (*v && textstats_is_space((unsigned char)*v))
			v++;
		size_t n = 0;
		while (v[n] && !textstats_is_space((unsigned char)v[n]))
			n++;
		if (n && furniture_token(v, n))
			return true;
		v += n;
	}
	return false;
}

static bool dropped(const struct conv *c, const xmlNode *n, int tag)
{
	if (tag == T_DROP || (tag == T_HEADER && !c->keep))
		return true;
	const char *name = (const char *)n->name;
	if (!strcmp(name, "html") || !strcmp(name, "body") || !strcmp(name, "main") ||
	    !strcmp(name, "article"))
		return false; /* never the whole page */
	for (const xmlAttr *a = n->properties; a; a = a->next) {
		const char *an = (const char *)a->name;
		const xmlNode *t = a->children;
		const char *v = t && t->type == XML_TEXT_NODE && t->content ? (const char *)t->content : "";
		if (!an)
			continue;
		if (!strcasecmp(an, "hidden") || (!strcasecmp(an, "aria-hidden") && !strcasecmp(v, "true")))
			return true;
		if (!strcasecmp(an, "role") && (!strcasecmp(v, "navigation") || !strcasecmp(v, "banner") ||
		                                !strcasecmp(v, "contentinfo")))
			return true;
		if (c->strict && (!strcasecmp(an, "class") || !strcasecmp(an, "id")) && furniture_attr(v))
			return true;
	}
	return false;
}

static char *node_text(const xmlNode *n)
{
	struct buf b = BUF_INIT;
	for (const xmlNode *k = n->children; k; k = k->next) {
		if (k->type == XML_TEXT_NODE && k->content) {
			if (b.len)
				buf_putc(&b, ' ');
			html_emit_collapse(&b, (const char *)k->content);
		}
	}
	return buf_steal(&b);
}

static void meta(struct conv *c, const xmlNode *n)
{
	const char *content = attr(n, "content"), *name = attr(n, "name"), *prop = attr(n, "property");
	if (!content)
		return;
	if (!c->desc && name && !strcasecmp(name, "description"))
		c->desc = html_emit_collapsed_dup(content);
	else if (!c->og && ((prop && !strcasecmp(prop, "og:description")) ||
	                    (name && !strcasecmp(name, "og:description"))))
		c->og = html_emit_collapsed_dup(content);
}

static unsigned heading_enter(struct conv *c, const xmlNode *n)
{
	html_emit_break(c, 2);
	if (html_emit_oneline(c) || c->nlists)
		return A_BLOCK;
	c->heading = n->name[1] - '0';
	c->head_owed = true;
	c->head_at = SIZE_MAX;
	return A_HEADING;
}

static void heading_leave(struct conv *c)
{
	if (!c->head_owed && c->heading == 1 && !c->h1 && c->head_at <= c->out.len) {
		size_t n = c->out.len - c->head_at;
		const char *h = c->out.data + c->head_at;
		c->h1 = xstrndup(h, utf8_floor(h, n, HTML_META_MAX));
	}
	c->head_owed = false;
	c->heading = 0;
	c->space = false;
	html_emit_break(c, 2);
}

static unsigned list_enter(struct conv *c, const xmlNode *n, bool ordered)
{
	if (html_emit_oneline(c)) {
		html_emit_break(c, 1);
		return A_BLOCK;
	}
	html_emit_break(c, c->nlists ? 1 : 2);
	if (c->nlists < HTML_LIST_MAX) {
		struct listlvl *l = &c->lists[c->nlists];
		const char *start = ordered ? attr(n, "start") : NULL;
		long v = start ? strtol(start, NULL, 10) : 1;
		l->ordered = ordered;
		l->width = ordered ? 3 : 2;
		l->next = v >= 0 && v < 1000000 ? (int)v : 1;
	}
	c->nlists++;
	return A_LIST;
}

static unsigned li_enter(struct conv *c)
{
	html_emit_break(c, 1);
	if (html_emit_oneline(c))
		return A_BLOCK;
	int top = c->nlists < HTML_LIST_MAX ? c->nlists : HTML_LIST_MAX;
	struct listlvl *l = top ? &c->lists[top - 1] : NULL;
	if (l && l->ordered) {
		snprintf(c->markbuf, sizeof(c->markbuf), "%d. ", l->next);
		if (l->next < 1000000)
			l->next++;
	} else {
		strcpy(c->markbuf, "- ");
	}
	c->marker = true;
	return A_LI;
}

static unsigned pre_enter(struct conv *c, const xmlNode *n)
{
	if (html_emit_oneline(c)) { /* a code block in a table cell or heading becomes inline code */
		c->code_depth++;
		return A_CODE;
	}
	if (c->code_depth)
		html_emit_code_end(c);
	c->pre_depth = 1;
	buf_reset(&c->pre);
	pre_language(n, c->lang);
	return A_PRE;
}

static unsigned table_enter(struct conv *c, xmlNode *n)
{
	html_emit_break(c, html_emit_oneline(c) ? 1 : 2);
	if (html_emit_oneline(c) || c->table || ((uintptr_t)n->_private & MARK_COMPLEX))
		return A_BLOCK; /* a layout table: its cells become paragraphs */
	c->table = n;
	c->rows = c->cells = 0;
	c->row_open = false;
	return A_TABLE;
}

static unsigned row_enter(struct conv *c)
{
	html_emit_break(c, 1);
	if (!c->table || c->cell)
		return A_BLOCK;
	c->cells = 0;
	c->row_open = false;
	return A_ROW;
}

static void row_leave(struct conv *c)
{
	if (c->row_open) {
		if (c->rows == 0) {
			buf_puts(&c->out, "\n|");
			for (int i = 0; i < (c->cells > 0 ? c->cells : 1); i++)
				buf_puts(&c->out, " --- |");
		}
		c->rows++;
	}
	c->row_open = false;
	html_emit_break(c, 1);
}

static unsigned cell_enter(struct conv *c)
{
	if (!c->table || c->cell) {
		html_emit_break(c, 2);
		return A_BLOCK;
	}
	if (!c->row_open) {
		html_emit_flush(c);
		buf_putc(&c->out, '|');
		c->row_open = true;
	}
	buf_putc(&c->out, ' ');
	c->cell++;
	c->space = false;
	c->bol = false;
	return A_CELL;
}

static void cell_leave(struct conv *c, const xmlNode *n)
{
	const char *cs = attr(n, "colspan");
	long span = cs ? strtol(cs, NULL, 10) : 1;
	if (span < 1 || span > COLSPAN_MAX)
		span = 1;
	c->cell--;
	c->space = false;
	buf_puts(&c->out, " |");
	for (long i = 1; i < span; i++)
		buf_puts(&c->out, "  |");
	c->cells += (int)span;
}

static bool element_enter(struct conv *c, xmlNode *n)
{
	int tag = tag_of(n->name);
	unsigned a = A_NONE;
	if (dropped(c, n, tag))
		return false;
	if (c->pre_depth) {
		if (tag == T_BR)
			html_emit_pre_text(c, "\n", 1);
		if (tag == T_PRE) {
			c->pre_depth++;
			a = A_PRE_INNER;
		}
		set_action(n, a);
		return true;
	}
	switch (tag) {
	case T_TITLE:
		if (!c->title)
			c->title = node_text(n);
		return false;
	case T_META:
		meta(c, n);
		return false;
	case T_BR:
		html_emit_break(c, 1);
		return false;
	case T_HR:
		html_emit_break(c, 2);
		return false;
	case T_KEEP:
		c->keep++;
		html_emit_break(c, 2);
		a = A_KEEP;
		break;
	case T_HEADER:
	case T_BLOCK:
		html_emit_break(c, 2);
		a = A_BLOCK;
		break;
	case T_ROWGROUP:
		if (!c->table) {
			html_emit_break(c, 2);
			a = A_BLOCK;
		}
		break;
	case T_HEADING: a = heading_enter(c, n); break;
	case T_UL:
	case T_OL: a = list_enter(c, n, tag == T_OL); break;
	case T_LI: a = li_enter(c); break;
	case T_PRE: a = pre_enter(c, n); break;
	case T_CODE:
		c->code_depth++;
		a = A_CODE;
		break;
	case T_TABLE: a = table_enter(c, n); break;
	case T_TR: a = row_enter(c); break;
	case T_CELL: a = cell_enter(c); break;
	default: break;
	}
	set_action(n, a);
	return true;
}

static void element_leave(struct conv *c, xmlNode *n)
{
	switch (action_of(n)) {
	case A_BLOCK: html_emit_break(c, 2); break;
	case A_KEEP:
		c->keep--;
		html_emit_break(c, 2);
		break;
	case A_HEADING: heading_leave(c); break;
	case A_LIST:
		c->nlists--;
		html_emit_break(c, c->nlists ? 1 : 2);
		break;
	case A_LI:
		c->marker = false;
		html_emit_break(c, 1);
		break;
	case A_PRE_INNER: c->pre_depth--; break;
	case A_PRE:
		c->pre_depth = 0;
		html_emit_pre_end(c);
		break;
	case A_CODE:
		if (--c->code_depth == 0)
			html_emit_code_end(c);
		break;
	case A_TABLE:
		c->table = NULL;
		html_emit_break(c, 2);
		break;
	case A_ROW: row_leave(c); break;
	case A_CELL: cell_leave(c, n); break;
	default: break;
	}
}

/* ---- the walk ------------------------------------------------------------------------------ */

typedef bool (*enter_fn)(void *ctx, xmlNode *n);
typedef void (*leave_fn)(void *ctx, xmlNode *n);

/* Depth-first walk with parent pointers: no recursion and no stack, whatever the nesting depth.
 * leave runs for every node whose enter returned true. */
static void walk(xmlNode *top, enter_fn enter, leave_fn leave, void *ctx)
{
	xmlNode *n = top;
	for (;;) {
		bool descend = enter(ctx, n);
		if (descend && n->children) {
			n = n->children;
			continue;
		}
		if (descend)
			leave(ctx, n);
		while (n != top && !n->next) {
			n = n->parent;
			leave(ctx, n);
		}
		if (n == top)
			return;
		n = n->next;
	}
}

static bool is_container(const xmlNode *n)
{
	return n->type == XML_ELEMENT_NODE || n->type == XML_DOCUMENT_NODE ||
	       n->type == XML_HTML_DOCUMENT_NODE;
}

static bool mark_enter(void *ctx, xmlNode *n)
{
	n->_private = NULL;
	return is_container(n);
}

/* Marks every ancestor table of a <pre> or <table> as complex (propagated one parent at a time). */
static void mark_leave(void *ctx, xmlNode *n)
{
	if (n->type != XML_ELEMENT_NODE || !n->parent)
		return;
	const char *name = (const char *)n->name;
	if (((uintptr_t)n->_private & MARK_COMPLEX) || !strcmp(name, "table") || !strcmp(name, "pre"))
		n->parent->_private = (void *)((uintptr_t)n->parent->_private | MARK_COMPLEX);
}

static bool conv_enter(void *ctx, xmlNode *n)
{
	struct conv *c = ctx;
	switch (n->type) {
	case XML_TEXT_NODE:
	case XML_CDATA_SECTION_NODE:
		if (n->content)
			html_emit_text(c, (const char *)n->content, strlen((const char *)n->content));
		return false;
	case XML_ELEMENT_NODE: return element_enter(c, n);
	case XML_DOCUMENT_NODE:
	case XML_HTML_DOCUMENT_NODE: return true;
	default: return false;
	}
}

static void conv_leave(void *ctx, xmlNode *n)
{
	if (n->type == XML_ELEMENT_NODE)
		element_leave(ctx, n);
}

static char *clean(char *s)
{
	if (utf8_is_clean(s, strlen(s)))
		return s;
	char *t = utf8_clean_dup(s, strlen(s));
	free(s);
	return t;
}

static char *first_of(char **a, char **b)
{
	char *r = *a && **a ? *a : *b && **b ? *b : NULL;
	if (r == *a)
		*a = NULL;
	else if (r == *b)
		*b = NULL;
	return clean(r ? r : xstrdup(""));
}

/* The deepest element nesting under top, counted without recursion. */
static int element_depth(xmlNode *top)
{
	int depth = 0, max = 0;
	xmlNode *n = top;
	for (;;) {
		if (n->type == XML_ELEMENT_NODE && depth > max)
			max = depth;
		if (n->children && is_container(n)) {
			n = n->children;
			depth++;
			continue;
		}
		while (n != top && !n->next) {
			n = n->parent;
			depth--;
		}
		if (n == top)
			return max;
		n = n->next;
	}
}

/* The depth the parser stopped at when the document nests deeper than it goes, else 0. libxml2 (without
 * XML_PARSE_HUGE, which we keep off: it lifts the bound altogether) ends the parse with "Excessive depth in
 * document: 256 ..." and keeps the tree it had built; the number is its bound, else the depth of that tree. */
static int depth_stop(htmlParserCtxtPtr ctxt, htmlDocPtr doc)
{
	xmlErrorPtr e = ctxt ? xmlCtxtGetLastError(ctxt) : NULL;
	const char *m = e && e->message ? strcasestr(e->message, "depth") : NULL;
	if (!doc || !m)
		return 0;
	m += strcspn(m, "0123456789\n");
	long bound = strtol(m, NULL, 10);
	if (bound > 0 && bound < 1000000)
		return (int)bound;
	int d = element_depth((xmlNode *)doc);
	return d > 0 ? d : 1;
}

void html_md_convert(const char *utf8, size_t len, struct html_doc *out)
{
	int opts = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
	           HTML_PARSE_COMPACT | HTML_PARSE_IGNORE_ENC;
	if (len > INT32_MAX)
		len = utf8_floor(utf8, len, INT32_MAX);
	/* a context of our own, to read the error that ended the parse */
	htmlParserCtxtPtr ctxt = htmlNewParserCtxt();
	htmlDocPtr doc = ctxt ? htmlCtxtReadMemory(ctxt, utf8, (int)len, NULL, "UTF-8", opts) : NULL;
	out->depth_limit = depth_stop(ctxt, doc);
	struct conv c = {.strict = true, .bol = true};
	if (doc) {
		walk((xmlNode *)doc, mark_enter, mark_leave, NULL);
		walk((xmlNode *)doc, conv_enter, conv_leave, &c);
		if (!c.out.len) { /* the furniture rules ate everything: keep what they would drop */
			html_emit_free(&c);
			c = (struct conv){.strict = false, .bol = true};
			walk((xmlNode *)doc, conv_enter, conv_leave, &c);
		}
		xmlFreeDoc(doc);
	}
	if (ctxt)
		htmlFreeParserCtxt(ctxt);
	out->title = first_of(&c.title, &c.h1);
	out->description = first_of(&c.desc, &c.og);
	out->markdown = clean(buf_steal(&c.out));
	out->markdown_len = strlen(out->markdown);
	html_emit_free(&c);
}
