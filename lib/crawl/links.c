/* Link extraction: <a>/<area> hrefs found by a fast start-tag scanner (tag_scan.c), or by libxml2's HTML tokenizer
 * (SAX, no tree) for any page the scanner is unsure of; Markdown links of llms.txt; resolved, deduplicated. */
#include "lib/crawl/links.h"

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>

#include "lib/util/buf.h"
#include "lib/util/mem.h"
#include "lib/crawl/tag_scan.h"
#include "lib/crawl/url.h"
#include "lib/text/utf8.h"

/* Accumulates canonical links: de-duplication through an open-addressing table of indices into out->urls. */
struct collector {
	struct links *out;
	size_t max;
	char *self; /* canonical URL of the page itself (skipped), may be NULL */
	char *base; /* base for resolution, may be NULL (absolute links only) */
	size_t *slots; /* index + 1 into out->urls; 0 is empty */
	size_t nslots; /* power of two */
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Finds url's slot: the one holding it, or the empty one where it belongs. */
static size_t *find_slot(const struct collector *c, const char *url)
{
	size_t mask = c->nslots - 1, i = (size_t)str_hash(url) & mask;
	while (c->slots[i] && strcmp(c->out->urls[c->slots[i] - 1], url) != 0)
		i = (i + 1) & mask;
	return &c->slots[i];
}

static void grow_slots(struct collector *c)
{
	size_t *old = c->slots, oldn = c->nslots;
	c->nslots = oldn ? oldn * 2 : 64;
	c->slots = xcalloc(c->nslots, sizeof *c->slots);
	for (size_t i = 0; i < oldn; i++)
		if (old[i])
			*find_slot(c, c->out->urls[old[i] - 1]) = old[i];
	free(old);
}

/* Adds a raw reference: resolves, canonicalises, filters and de-duplicates it. */
static void collect(struct collector *c, const char *ref)
{
	struct links *l = c->out;
	if (l->truncated || !ref)
		return;
	while (*ref == ' ' || *ref == '\t' || *ref == '\n' || *ref == '\r' || *ref == '\f')
		ref++;
	if (*ref == '\0' || *ref == '#')
		return;
	char *url = c->base ? url_resolve_canonical(c->base, ref) : url_canonical(ref);
	/* Counted, not silently dropped: a page whose links are lost to the length limit should say so. A
	 * reference that would not resolve because it is over URL_MAX_LEN is long too. */
	if (url ? strlen(url) > URL_STORE_MAX_LEN : strlen(ref) > URL_STORE_MAX_LEN) {
		l->skipped_long++;
		free(url);
		return;
	}
	if (!url || (c->self && strcmp(url, c->self) == 0)) {
		free(url);
		return;
	}
	if ((l->n + 1) * 2 > c->nslots)
		grow_slots(c);
	size_t *slot = find_slot(c, url);
	if (*slot) {
		free(url);
		return;
	}
	if (l->n >= c->max) {
		l->truncated = true;
		free(url);
		return;
	}
	if ((l->n & (l->n - 1)) == 0) /* capacity doubles at powers of two */
		l->urls = xrealloc(l->urls, (l->n ? l->n * 2 : 1) * sizeof *l->urls);
	l->urls[l->n++] = url;
	*slot = l->n;
}

static void collector_done(struct collector *c)
{
	free(c->self);
	free(c->base);
	free(c->slots);
}

/* --- robots directives --- */

void links_robots_directives(const char *content, bool *noindex, bool *nofollow)
{
	for (const char *p = content; p && *p;) {
		p += strspn(p, ", \t\r\n");
		size_t n = strcspn(p, ", \t\r\n");
		bool none = n == 4 && strncasecmp(p, "none", 4) == 0;
		if (none || (n == 7 && strncasecmp(p, "noindex", 7) == 0))
			*noindex = true;
		if (none || (n == 8 && strncasecmp(p, "nofollow", 8) == 0))
			*nofollow = true;
		p += n;
	}
}

/* --- HTML --- */

/* True when the space-separated attribute value has token (case-insensitive). */
static bool has_token(const char *v, const char *token)
{
	size_t tl = strlen(token);
	for (const char *p = v; p && *p;) {
		p += strspn(p, " \t\r\n\f");
		size_t n = strcspn(p, " \t\r\n\f");
		if (n == tl && strncasecmp(p, token, n) == 0)
			return true;
		p += n;
	}
	return false;
}

/* What the SAX pass keeps of a page: the first <base href>, the <meta name="robots"> directives, and each
 * <a href> / <area href> in document order. Links are resolved after the pass, against the first base
 * wherever it stands. No tree is built: libxml2 only tokenizes. */
struct html_scan {
	struct collector *c;
	char *base_href; /* the first <base href>, raw */
	char **hrefs;
	size_t n, cap;
};

static const char *attr(const xmlChar **atts, const char *name)
{
	for (size_t i = 0; atts && atts[i]; i += 2)
		if (strcasecmp((const char *)atts[i], name) == 0)
			return atts[i + 1] ? (const char *)atts[i + 1] : "";
	return NULL;
}

static void on_start_element(void *ctx, const xmlChar *tag, const xmlChar **atts)
{
	struct html_scan *s = ctx;
	const char *name = (const char *)tag;
	if (strcasecmp(name, "a") == 0 || strcasecmp(name, "area") == 0) {
		const char *href = attr(atts, "href");
		if (!href)
			return;
		const char *rel = attr(atts, "rel");
		if (rel && has_token(rel, "nofollow")) {
			s->c->out->skipped_nofollow++;
			return;
		}
		if (s->n == s->cap) {
			s->cap = s->cap ? 2 * s->cap : 64;
			s->hrefs = xrealloc(s->hrefs, s->cap * sizeof *s->hrefs);
		}
		s->hrefs[s->n++] = xstrdup(href);
	} else if (strcasecmp(name, "base") == 0) {
		const char *href = attr(atts, "href");
		if (href && !s->base_href)
			s->base_href = xstrdup(href);
	} else if (strcasecmp(name, "meta") == 0) {
		const char *n = attr(atts, "name");
		if (n && strcasecmp(n, "robots") == 0)
			links_robots_directives(attr(atts, "content"), &s->c->out->noindex, &s->c->out->nofollow);
	}
}

/* Runs libxml2's HTML tokenizer over the page with on_start_element as its only callback. */
static void scan_html(struct html_scan *s, const char *html, size_t len, const char *enc, int opts)
{
	htmlParserCtxtPtr ctxt = htmlCreateMemoryParserCtxt(html, (int)len);
	if (!ctxt)
		return;
	htmlSAXHandler *sax = xmlMalloc(sizeof *sax);
	if (!sax) {
		htmlFreeParserCtxt(ctxt);
		return;
	}
	memset(sax, 0, sizeof *sax);
	sax->startElement = on_start_element;
	xmlFree(ctxt->sax);
	ctxt->sax = sax; /* freed with the context */
	ctxt->userData = s;
	htmlCtxtUseOptions(ctxt, opts);
	if (enc) {
		xmlCharEncodingHandlerPtr h = xmlFindCharEncodingHandler(enc);
		if (h)
			xmlSwitchToEncoding(ctxt, h);
	}
	htmlParseDocument(ctxt);
	if (ctxt->myDoc)
		xmlFreeDoc(ctxt->myDoc);
	htmlFreeParserCtxt(ctxt);
}

/* --- the fast path: tag_scan, for pages in an ASCII-compatible encoding --- */

/* What the fast path may assume of the page's bytes. */
enum page_bytes {
	BYTES_UNKNOWN,  /* not ASCII-compatible, or unknown: no fast path */
	BYTES_ASCII,    /* an ASCII-compatible encoding other than UTF-8: only ASCII values are safe */
	BYTES_UTF8,     /* UTF-8 (declared, or assumed for lack of a declaration) */
};

struct fast_scan {
	struct html_scan *s;
	enum page_bytes bytes;
	const char *charset; /* the caller's (HTTP) charset, may be NULL */
	const char *html;
	size_t len;
	int page_utf8; /* -1 unchecked, else whether the whole page is clean UTF-8 */
	bool noindex, nofollow;
	size_t skipped_nofollow;
	struct buf val;
};

/* Decodes an attribute value into f->val as libxml2 would hand it over; false when unsure (a character
 * reference other than &amp; &lt; &gt; &quot; and printable-ASCII numeric ones, a control byte, or a byte the
 * page's encoding leaves in doubt). */
static bool fast_value(struct fast_scan *f, const struct tag_attr *a)
{
	buf_reset(&f->val);
	const unsigned char *v = (const unsigned char *)a->value;
	bool non_ascii = false;
	for (size_t i = 0; i < a->value_len; i++) {
		unsigned char c = v[i];
		if (c == '&') {
			static const struct { const char *ref; char ch; } named[] = {
				{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}};
			size_t rest = a->value_len - i - 1, k;
			const char *r = (const char *)v + i + 1;
			for (k = 0; k < sizeof named / sizeof *named; k++) {
				size_t n = strlen(named[k].ref);
				if (rest >= n && memcmp(r, named[k].ref, n) == 0) {
					buf_putc(&f->val, named[k].ch);
					i += n;
					break;
				}
			}
			if (k < sizeof named / sizeof *named)
				continue;
			if (rest < 3 || r[0] != '#')
				return false;
			bool hex = r[1] == 'x';
			size_t j = hex ? 2 : 1;
			long cp = 0;
			for (; j < rest && j < 9 && (hex ? isxdigit((unsigned char)r[j]) : isdigit((unsigned char)r[j])); j++)
				cp = cp * (hex ? 16 : 10) + (isdigit((unsigned char)r[j]) ? r[j] - '0' : (r[j] | 0x20) - 'a' + 10);
			if (j == (hex ? 2u : 1u) || j >= rest || r[j] != ';' || cp < 0x20 || cp > 0x7e)
				return false;
			buf_putc(&f->val, (char)cp);
			i += j + 1;
			continue;
		}
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
			return false;
		if (c == 0x7f)
			return false;
		non_ascii |= c >= 0x80;
		buf_putc(&f->val, (char)c);
	}
	if (non_ascii) {
		if (f->bytes != BYTES_UTF8)
			return false;
		/* libxml2 reads the rest of a page as Latin-1 from its first invalid UTF-8 byte: values are as they
		 * stand only in a page that is clean UTF-8 throughout */
		if (f->page_utf8 < 0)
			f->page_utf8 = utf8_is_clean(f->html, f->len);
		if (!f->page_utf8)
			return false;
	}
	return true;
}

/* The first attribute called name (libxml2 keeps the first of duplicates), NULL when absent. */
static const struct tag_attr *fast_attr(const struct tag_attr *attrs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(attrs[i].name, name) == 0)
			return &attrs[i];
	return NULL;
}

/* Decodes the named attribute into a new string (*out NULL when absent); false when unsure. */
static bool fast_attr_dup(struct fast_scan *f, const struct tag_attr *attrs, size_t n, const char *name, char **out)
{
	*out = NULL;
	const struct tag_attr *a = fast_attr(attrs, n, name);
	if (!a)
		return true;
	if (!fast_value(f, a))
		return false;
	*out = xstrdup(buf_str(&f->val));
	return true;
}

/* True when a <meta> declares no charset, or UTF-8, or the caller's own charset: libxml2 may switch to a
 * charset a page declares, and then read its bytes (even its ASCII, as in UTF-7) otherwise. */
static bool fast_meta_charset_ok(struct fast_scan *f, const struct tag_attr *attrs, size_t n)
{
	char *cs = NULL;
	bool ok = true;
	if (!fast_attr_dup(f, attrs, n, "charset", &cs))
		return false;
	if (!cs) {
		char *equiv = NULL;
		if (!fast_attr_dup(f, attrs, n, "http-equiv", &equiv))
			return false;
		bool ctype = equiv && strcasecmp(equiv, "content-type") == 0;
		free(equiv);
		if (!ctype)
			return true;
		char *content = NULL;
		if (!fast_attr_dup(f, attrs, n, "content", &content))
			return false;
		const char *at = content ? strcasestr(content, "charset") : NULL;
		if (at) {
			at += 7;
			at += strspn(at, " \t");
			if (*at == '=') {
				at++;
				at += strspn(at, " \t\"'");
				cs = xstrndup(at, strcspn(at, " \t\"';"));
			} else {
				ok = false;
			}
		}
		free(content);
	}
	if (cs)
		ok = strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "utf8") == 0 ||
		     (f->charset && strcasecmp(cs, f->charset) == 0);
	free(cs);
	return ok;
}

static int on_fast_tag(void *arg, const char *name, size_t name_len, const struct tag_attr *attrs, size_t n)
{
	struct fast_scan *f = arg;
	struct html_scan *s = f->s;
	bool is_a = name_len == 1 && name[0] == 'a', is_area = name_len == 4 && memcmp(name, "area", 4) == 0;
	char *v = NULL, *v2 = NULL;
	if (is_a || is_area) {
		if (!fast_attr(attrs, n, "href"))
			return 0;
		if (!fast_attr_dup(f, attrs, n, "rel", &v))
			return TAG_SCAN_UNSURE;
		bool nofollow = v && has_token(v, "nofollow");
		free(v);
		if (nofollow) {
			f->skipped_nofollow++;
			return 0;
		}
		if (!fast_attr_dup(f, attrs, n, "href", &v))
			return TAG_SCAN_UNSURE;
		if (s->n == s->cap) {
			s->cap = s->cap ? 2 * s->cap : 64;
			s->hrefs = xrealloc(s->hrefs, s->cap * sizeof *s->hrefs);
		}
		s->hrefs[s->n++] = v;
	} else if (name_len == 4 && memcmp(name, "base", 4) == 0) {
		if (s->base_href)
			return 0;
		if (!fast_attr_dup(f, attrs, n, "href", &s->base_href))
			return TAG_SCAN_UNSURE;
	} else if (name_len == 4 && memcmp(name, "meta", 4) == 0) {
		if (!fast_meta_charset_ok(f, attrs, n))
			return TAG_SCAN_UNSURE;
		if (!fast_attr_dup(f, attrs, n, "name", &v))
			return TAG_SCAN_UNSURE;
		bool robots = v && strcasecmp(v, "robots") == 0;
		free(v);
		if (robots) {
			if (!fast_attr_dup(f, attrs, n, "content", &v2))
				return TAG_SCAN_UNSURE;
			links_robots_directives(v2, &f->noindex, &f->nofollow);
			free(v2);
		}
	}
	return 0;
}

/* Runs tag_scan over the page into s; false (s left empty) when the page needs libxml2. The fast path takes
 * pages read as UTF-8, and pages read as Latin-1 (every byte is a character), for their ASCII values; any
 * other charset goes to libxml2, whose converters may stop at a byte they cannot convert. */
static bool scan_html_fast(struct html_scan *s, const char *html, size_t len, const char *charset,
                           const char *enc)
{
	struct fast_scan f = {.s = s, .html = html, .len = len, .page_utf8 = -1, .charset = charset};
	if (enc && (strcasecmp(enc, "utf-8") == 0 || strcasecmp(enc, "utf8") == 0))
		f.bytes = BYTES_UTF8;
	else if (enc && (strcasecmp(enc, "iso-8859-1") == 0 || strcasecmp(enc, "latin1") == 0))
		f.bytes = BYTES_ASCII;
	else if (!enc && !(charset && *charset) && !(len >= 2 && (memcmp(html, "\xFE\xFF", 2) == 0 ||
	                                                           memcmp(html, "\xFF\xFE", 2) == 0)))
		f.bytes = BYTES_ASCII; /* a <meta> charset decides: UTF-8 or none (fast_meta_charset_ok) */
	else
		return false;
	bool ok = tag_scan(html, len, on_fast_tag, &f) == 0;
	buf_free(&f.val);
	if (ok) {
		s->c->out->noindex |= f.noindex;
		s->c->out->nofollow |= f.nofollow;
		s->c->out->skipped_nofollow += f.skipped_nofollow;
		return true;
	}
	for (size_t i = 0; i < s->n; i++)
		free(s->hrefs[i]);
	free(s->hrefs);
	free(s->base_href);
	s->hrefs = NULL;
	s->base_href = NULL;
	s->n = s->cap = 0;
	return false;
}

/* The encoding to hand libxml2: the caller's charset; none (libxml2 then reads a BOM or <meta> charset) when
 * the page has either; else UTF-8, libxml2's own fallback being Latin-1. */
static const char *choose_encoding(const char *html, size_t len, const char *charset)
{
	if (charset && *charset)
		return charset;
	if (len >= 2 && (memcmp(html, "\xFE\xFF", 2) == 0 || memcmp(html, "\xFF\xFE", 2) == 0))
		return NULL; /* UTF-16 byte-order mark */
	size_t n = len < 4096 ? len : 4096;
	for (size_t i = 0; i + 7 <= n; i++)
		if ((html[i] | 0x20) == 'c' && strncasecmp(html + i, "charset", 7) == 0)
			return NULL;
	return "UTF-8";
}

/* links_from_html, with the fast scanner tried first unless parsed_only. */
static int html_links_impl(const char *html, size_t len, const char *page_url, const char *charset,
                           size_t max_links, struct links *out, bool parsed_only)
{
	memset(out, 0, sizeof *out);
	struct collector c = {.out = out, .max = max_links ? max_links : LINKS_DEFAULT_MAX};
	c.self = url_canonical(page_url);
	if (!c.self)
		return -1;
	c.base = xstrdup(c.self);
	if (html && len > 0 && len <= INT_MAX) {
		int opts = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
		           HTML_PARSE_COMPACT;
		struct html_scan s = {.c = &c};
		const char *enc = choose_encoding(html, len, charset);
		if (parsed_only || !scan_html_fast(&s, html, len, charset, enc))
			scan_html(&s, html, len, enc, opts);
		if (s.base_href) {
			char *b = url_resolve(c.self, s.base_href);
			if (b) {
				free(c.base);
				c.base = b;
			}
		}
		for (size_t i = 0; i < s.n; i++) {
			if (!out->nofollow)
				collect(&c, s.hrefs[i]);
			free(s.hrefs[i]);
		}
		if (out->nofollow)
			out->skipped_nofollow = 0;
		free(s.hrefs);
		free(s.base_href);
	}
	collector_done(&c);
	return 0;
}

int links_from_html(const char *html, size_t len, const char *page_url, const char *charset, size_t max_links,
                    struct links *out)
{
	return html_links_impl(html, len, page_url, charset, max_links, out, false);
}

int links_from_html_parsed(const char *html, size_t len, const char *page_url, const char *charset,
                           size_t max_links, struct links *out)
{
	return html_links_impl(html, len, page_url, charset, max_links, out, true);
}

/* --- llms.txt (Markdown) --- */

/* Parses a link destination starting at s[i], just after the opening parenthesis. On success stores it in
 * dst and dlen and returns the index of the closing parenthesis. Otherwise returns 0 and sets *stop to the
 * furthest index it examined: the caller resumes there, so no byte is scanned twice and a line costs O(n). */
static size_t md_destination(const char *s, size_t n, size_t i, const char **dst, size_t *dlen, size_t *stop)
{
	*stop = n;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	size_t start = i, end;
	if (i < n && s[i] == '<') {
		const char *gt = memchr(s + i, '>', n - i);
		if (!gt)
			return 0;
		start = i + 1;
		end = (size_t)(gt - s);
		i = end + 1;
	} else {
		int depth = 0;
		for (; i < n && s[i] != ' ' && s[i] != '\t'; i++) {
			if (s[i] == '(')
				depth++;
			else if (s[i] == ')' && depth-- == 0)
				break;
		}
		end = i;
	}
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < n && (s[i] == '"' || s[i] == '\'')) { /* a title */
		const char *q = memchr(s + i + 1, s[i], n - i - 1);
		if (!q)
			return 0;
		i = (size_t)(q - s) + 1;
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
	}
	if (i >= n || s[i] != ')') {
		*stop = i;
		return 0;
	}
	*dst = s + start;
	*dlen = end - start;
	return i;
}

static void collect_n(struct collector *c, const char *s, size_t n)
{
	if (n == 0)
		return;
	if (n > URL_MAX_LEN) {
		c->out->skipped_long++;
		return;
	}
	char *ref = xstrndup(s, n);
	collect(c, ref);
	free(ref);
}

/* "[label]: target" reference definitions. Returns true when the line was one. */
static bool md_definition(struct collector *c, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && i < 3 && s[i] == ' ')
		i++;
	if (i >= n || s[i] != '[')
		return false;
	const char *close = memchr(s + i, ']', n - i);
	if (!close || (size_t)(close - s) + 1 >= n || close[1] != ':')
		return false;
	i = (size_t)(close - s) + 2;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	size_t start = i;
	while (i < n && s[i] != ' ' && s[i] != '\t')
		i++;
	if (start < n && s[start] == '<' && i - start >= 2 && s[i - 1] == '>')
		collect_n(c, s + start + 1, i - start - 2);
	else
		collect_n(c, s + start, i - start);
	return true;
}

/* An autolink "<http(s)://...>" starting at s[i]: returns the index of its '>', or 0. */
static size_t md_autolink(const char *s, size_t n, size_t i)
{
	size_t rest = n - i - 1;
	const char *p = s + i + 1;
	bool http = rest > 7 && strncasecmp(p, "http://", 7) == 0;
	bool https = rest > 8 && strncasecmp(p, "https://", 8) == 0;
	if (!http && !https)
		return 0;
	for (size_t j = i + 1; j < n; j++) {
		if (s[j] == '>')
			return j;
		if (s[j] == ' ' || s[j] == '\t' || s[j] == '<')
			return 0;
	}
	return 0;
}

/* Inline links and autolinks of one line; brackets are matched with a small stack, so the scan is linear. */
static void md_line(struct collector *c, const char *s, size_t n)
{
	size_t stack[32];
	size_t sp = 0;
	for (size_t i = 0; i < n && !c->out->truncated; i++) {
		if (s[i] == '\\') {
			i++;
		} else if (s[i] == '`') { /* inline code: skip to the closing backtick */
			const char *close = memchr(s + i + 1, '`', n - i - 1);
			if (close)
				i = (size_t)(close - s);
		} else if (s[i] == '[') {
			if (sp < sizeof stack / sizeof stack[0])
				stack[sp++] = i;
		} else if (s[i] == ']' && sp > 0) {
			size_t open = stack[--sp], end, stop = i + 1;
			const char *dst;
			size_t dlen;
			end = 0;
			if (i + 1 < n && s[i + 1] == '(')
				end = md_destination(s, n, i + 2, &dst, &dlen, &stop);
			if (end) {
				if (!(open > 0 && s[open - 1] == '!')) /* images are not links */
					collect_n(c, dst, dlen);
				i = end;
				sp = 0;
			} else {
				i = stop - 1; /* the loop's i++ resumes at stop */
			}
		} else if (s[i] == '<') {
			size_t end = md_autolink(s, n, i);
			if (end) {
				collect_n(c, s + i + 1, end - i - 1);
				i = end;
			}
		}
	}
}

/* True when the line opens or closes a fenced code block (``` or ~~~ after at most three spaces). */
static bool md_fence(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && i < 3 && s[i] == ' ')
		i++;
	return n - i >= 3 && (memcmp(s + i, "```", 3) == 0 || memcmp(s + i, "~~~", 3) == 0);
}

int links_from_llms_txt(const char *txt, size_t len, const char *base_url, size_t max_links,
                        struct links *out)
{
	memset(out, 0, sizeof *out);
	struct collector c = {.out = out, .max = max_links ? max_links : LINKS_DEFAULT_MAX};
	if (base_url) {
		c.base = url_canonical(base_url);
		if (!c.base)
			return -1;
		c.self = xstrdup(c.base);
	}
	bool in_fence = false;
	for (size_t i = 0; txt && i < len && !out->truncated;) {
		const char *nl = memchr(txt + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - txt) : len;
		size_t n = e - i;
		if (md_fence(txt + i, n))
			in_fence = !in_fence;
		else if (!in_fence && !md_definition(&c, txt + i, n))
			md_line(&c, txt + i, n);
		i = e + 1;
	}
	collector_done(&c);
	return 0;
}

void links_free(struct links *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->urls[i]);
	free(l->urls);
	memset(l, 0, sizeof *l);
}
