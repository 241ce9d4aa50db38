/* Document conversion entry points: binary detection, charset decoding, format sniffing, pass-through. */
#include "lib/text/html.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util/buf.h"
#include "lib/text/codeblock.h"
#include "lib/text/html_md.h"
#include "lib/util/mem.h"
#include "lib/text/textstats.h"
#include "lib/text/utf8.h"

#define SNIFF_BYTES 8192   /* bytes looked at for binary content and format */
#define CHARSET_BYTES 4096 /* bytes searched for a <meta> charset */
#define CHARSET_MAX 40
#define TEXT_TITLE_MAX 200 /* a text file's first line becomes its title when at most this long */

/* ---- binary content ------------------------------------------------------------------------ */

static bool has_bom16(const char *d, size_t len)
{
	const unsigned char *p = (const unsigned char *)d;
	return len >= 2 && ((p[0] == 0xFF && p[1] == 0xFE) || (p[0] == 0xFE && p[1] == 0xFF));
}

/* Why data is not a text document, or NULL when it is one. */
static const char *binary_reason(const char *data, size_t len)
{
	static const struct {
		const char *magic;
		size_t n;
		const char *what;
	} magics[] = {
		{"%PDF-", 5, "not a text document (PDF)"},
		{"\x1F\x8B", 2, "not a text document (gzip data)"},
		{"PK\x03\x04", 4, "not a text document (zip archive)"},
	};
	size_t n = len < SNIFF_BYTES ? len : SNIFF_BYTES;
	if (has_bom16(data, len))
		return NULL;
	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		if (n >= magics[i].n && !memcmp(data, magics[i].magic, magics[i].n))
			return magics[i].what;
	size_t controls = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)data[i];
		if (c == 0)
			return "not a text document (binary content)";
		if ((c < 0x20 && !textstats_is_space(c) && c != 0x1B) || c == 0x7F)
			controls++;
	}
	return controls * 16 > n ? "not a text document (binary content)" : NULL;
}

bool html_is_binary(const char *data, size_t len)
{
	return binary_reason(data, len) != NULL;
}

/* ---- charsets ------------------------------------------------------------------------------ */

/* Maps a declared charset to a name iconv knows, or NULL for UTF-8 (and for UTF-16 declared inside an
 * ASCII-compatible document, which the HTML standard also reads as UTF-8). */
static const char *charset_norm(const char *cs, char out[CHARSET_MAX])
{
	static const char *const utf8[] = {"utf-8", "utf8", "unicode-1-1-utf-8", "utf-16", "utf-16le",
	                                   "utf-16be", "unicode", NULL};
	static const char *const latin1[] = {"iso-8859-1", "iso8859-1", "latin1", "l1", "us-ascii", "ascii",
	                                     "iso_8859-1", "cp819", "ibm819", NULL};
	size_t n = 0;
	while (cs[n] && n < CHARSET_MAX - 1 && cs[n] != ';' && !textstats_is_space((unsigned char)cs[n]) &&
	       cs[n] != '"' && cs[n] != '\'') {
		out[n] = cs[n];
		n++;
	}
	out[n] = '\0';
	if (!n)
		return NULL;
	for (const char *const *u = utf8; *u; u++)
		if (!strcasecmp(out, *u))
			return NULL;
	for (const char *const *l = latin1; *l; l++)
		if (!strcasecmp(out, *l))
			return "WINDOWS-1252"; /* as browsers read it */
	return out;
}

static bool charset_char(char c)
{
	return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z') || (c && strchr("-_.:", c));
}

/* Finds "charset=NAME" inside a <meta> tag, or encoding="NAME" in an XML declaration, in the first bytes. */
static bool meta_charset(const char *d, size_t len, char out[CHARSET_MAX])
{
	size_t n = len < CHARSET_BYTES ? len : CHARSET_BYTES;
	const char *end = d + n;
	for (const char *p = d; p + 5 < end; p++) {
		bool meta = p[0] == '<' && !strncasecmp(p + 1, "meta", 4);
		bool xml = p == d && !strncmp(p, "<?xml", 5);
		if (!meta && !xml)
			continue;
		const char *gt = memchr(p, '>', (size_t)(end - p));
		const char *key = xml ? "encoding" : "charset";
		size_t klen = strlen(key);
		for (const char *q = p; gt && q + klen < gt; q++) {
			if (strncasecmp(q, key, klen))
				continue;
			q += klen;
			while (q < gt && (*q == ' ' || *q == '=' || *q == '"' || *q == '\''))
				q++;
			size_t k = 0;
			while (q + k < gt && k < CHARSET_MAX - 1 && charset_char(q[k]))
				k++;
			memcpy(out, q, k);
			out[k] = '\0';
			return k > 0;
		}
	}
	return false;
}

/* Decodes data from charset into out as UTF-8; invalid input becomes U+FFFD. Returns false when iconv
 * does not know the charset. */
static bool iconv_utf8(const char *data, size_t len, const char *charset, struct buf *out)
{
	iconv_t cd = iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1)
		return false;
	char *in = (char *)data, tmp[8192];
	size_t inleft = len;
	for (;;) {
		char *op = tmp;
		size_t oleft = sizeof(tmp);
		size_t r = iconv(cd, inleft ? &in : NULL, &inleft, &op, &oleft);
		buf_append(out, tmp, (size_t)(op - tmp));
		if (r != (size_t)-1) {
			if (!inleft && in != NULL) {
				in = NULL; /* one more call to flush a stateful encoding */
				continue;
			}
			break;
		}
		if (errno == E2BIG)
			continue;
		if (errno != EILSEQ && errno != EINVAL)
			break;
		buf_append(out, "\xEF\xBF\xBD", 3);
		in++;
		inleft--;
	}
	iconv_close(cd);
	return true;
}

/* The document as valid UTF-8 without NUL: either data itself (*owned stays empty) or a repaired copy. */
static const char *to_utf8(const char *data, size_t len, enum html_format fmt, const char *charset,
                           struct buf *owned, size_t *outlen)
{
	const unsigned char *p = (const unsigned char *)data;
	char name[CHARSET_MAX];
	const char *cs = NULL;
	if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
		data += 3;
		len -= 3;
	} else if (has_bom16(data, len)) {
		cs = p[0] == 0xFF ? "UTF-16LE" : "UTF-16BE";
		data += 2;
		len -= 2;
	} else if (charset && *charset) {
		cs = charset_norm(charset, name);
	} else if (fmt == HTML_FORMAT_HTML && meta_charset(data, len, name)) {
		cs = charset_norm(name, name);
	}
	struct buf dec = BUF_INIT;
	if (cs && iconv_utf8(data, len, cs, &dec)) {
		utf8_sanitize(buf_str(&dec), dec.len, owned);
		buf_free(&dec);
	} else if (utf8_is_clean(data, len)) {
		*outlen = len;
		return data;
	} else {
		utf8_sanitize(data, len, owned);
	}
	*outlen = owned->len;
	return buf_str(owned);
}

/* ---- Markdown and plain text ------------------------------------------------------------- */

/* Copies s[0..n) with CR LF and lone CR made LF and other control bytes (but tab) dropped, without leading
 * blank lines or trailing whitespace. */
static void normalize_text(const char *s, size_t n, struct buf *out)
{
	size_t i = 0, run, last = 0;
	for (size_t k = 0; k < n && textstats_is_space((unsigned char)s[k]); k++)
		if (s[k] == '\n' || s[k] == '\r')
			last = k + 1;
	i = run = last;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 0x20 && c != 0x7F) || c == '\t' || c == '\n')
			continue;
		buf_append(out, s + run, i - run);
		if (c == '\r' && !(i + 1 < n && s[i + 1] == '\n'))
			buf_putc(out, '\n');
		run = i + 1;
	}
	buf_append(out, s + run, n - run);
	while (out->len && textstats_is_space((unsigned char)out->data[out->len - 1]))
		out->len--;
	if (out->data)
		out->data[out->len] = '\0';
}

static size_t line_end(const char *s, size_t n, size_t pos)
{
	const char *nl = memchr(s + pos, '\n', n - pos);
	return nl ? (size_t)(nl - s) : n;
}

/* Plain text: a backslash before '#' or a fence run that opens a line, so that no line reads as Markdown. */
static void escape_text(const char *s, size_t n, struct buf *out)
{
	for (size_t pos = 0; pos < n;) {
		size_t e = line_end(s, n, pos), k = pos;
		while (k < e && k < pos + 3 && s[k] == ' ')
			k++;
		bool fence = k + 3 <= e && (s[k] == '`' || s[k] == '~') && s[k + 1] == s[k] &&
		             s[k + 2] == s[k];
		if (k < e && (s[k] == '#' || fence)) {
			buf_append(out, s + pos, k - pos);
			buf_putc(out, '\\');
			pos = k;
		}
		buf_append(out, s + pos, (e < n ? e + 1 : e) - pos);
		pos = e + 1;
	}
}

static char *trimmed(const char *s, size_t n)
{
	while (n && textstats_is_space((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && textstats_is_space((unsigned char)s[n - 1]))
		n--;
	if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
		s++;
		n -= 2;
	}
	return xstrndup(s, utf8_floor(s, n, 2000));
}

/* Sets *value from a front matter line "key value" when key matches and *value is still "". */
static void front_key(const char *line, size_t n, const char *key, char **value)
{
	size_t k = strlen(key);
	if (**value || n <= k || strncmp(line, key, k))
		return;
	free(*value);
	*value = trimmed(line + k, n - k);
}

/* YAML front matter ("---" ... "---" at the very start): takes title and description, returns its size. */
static size_t front_matter(const char *s, size_t n, struct html_doc *doc)
{
	if (n < 4 || strncmp(s, "---\n", 4))
		return 0;
	for (size_t pos = 4; pos < n;) {
		size_t e = line_end(s, n, pos);
		if ((e - pos == 3 && (!strncmp(s + pos, "---", 3) || !strncmp(s + pos, "...", 3)))) {
			for (size_t q = 4; q < pos;) {
				size_t qe = line_end(s, pos, q);
				front_key(s + q, qe - q, "title:", &doc->title);
				front_key(s + q, qe - q, "description:", &doc->description);
				q = qe + 1;
			}
			return e < n ? e + 1 : n;
		}
		pos = e + 1;
	}
	return 0;
}

/* The first "# " heading outside code fences, or "". */
static char *markdown_title(const char *s, size_t n)
{
	struct codeblock_fence f;
	bool in_fence = false;
	for (size_t pos = 0; pos < n;) {
		size_t e = line_end(s, n, pos);
		if (in_fence)
			in_fence = !codeblock_fence_close(s + pos, e - pos, &f);
		else if (codeblock_fence_open(s + pos, e - pos, &f))
			in_fence = true;
		else if (e - pos > 2 && s[pos] == '#' && (s[pos + 1] == ' ' || s[pos + 1] == '\t'))
			return trimmed(s + pos + 2, e - pos - 2);
		pos = e + 1;
	}
	return xstrdup("");
}

static void passthrough(const char *s, size_t n, enum html_format fmt, struct html_doc *doc)
{
	struct buf norm = BUF_INIT, esc = BUF_INIT;
	doc->title = xstrdup("");
	doc->description = xstrdup("");
	normalize_text(s, n, &norm);
	if (fmt == HTML_FORMAT_MARKDOWN) {
		size_t skip = front_matter(buf_str(&norm), norm.len, doc);
		while (skip < norm.len && textstats_is_space((unsigned char)norm.data[skip]))
			skip++;
		if (!*doc->title) {
			free(doc->title);
			doc->title = markdown_title(buf_str(&norm) + skip, norm.len - skip);
		}
		doc->markdown = xstrndup(buf_str(&norm) + skip, norm.len - skip);
	} else {
		size_t e = line_end(buf_str(&norm), norm.len, 0);
		if (e <= TEXT_TITLE_MAX) {
			free(doc->title);
			doc->title = trimmed(buf_str(&norm), e);
		}
		escape_text(buf_str(&norm), norm.len, &esc);
		doc->markdown = buf_steal(&esc);
	}
	doc->markdown_len = strlen(doc->markdown);
	buf_free(&norm);
}

/* ---- entry points -------------------------------------------------------------------------- */

static bool ext_is(const char *ext, size_t n, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == n && !strncasecmp(ext, *list, n))
			return true;
	return false;
}

/* The format a file name or URL path suggests, or HTML_FORMAT_AUTO. */
static enum html_format format_of_name(const char *name)
{
	static const char *const html[] = {"html", "htm", "xhtml", "shtml", NULL};
	static const char *const md[] = {"md", "markdown", "mdx", "mdown", "mkd", NULL};
	static const char *const txt[] = {"txt", "text", "rst", "adoc", "asciidoc", NULL};
	size_t end = strcspn(name, "?#");
	size_t dot = end;
	while (dot > 0 && name[dot - 1] != '.' && name[dot - 1] != '/')
		dot--;
	if (dot == 0 || name[dot - 1] != '.')
		return HTML_FORMAT_AUTO;
	const char *ext = name + dot;
	size_t n = end - dot;
	return ext_is(ext, n, html) ? HTML_FORMAT_HTML
	       : ext_is(ext, n, md) ? HTML_FORMAT_MARKDOWN
	       : ext_is(ext, n, txt) ? HTML_FORMAT_TEXT
	                             : HTML_FORMAT_AUTO;
}

static bool type_is(const char *ct, const char *type)
{
	size_t n = strlen(type);
	while (*ct == ' ')
		ct++;
	return !strncasecmp(ct, type, n) && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static bool starts_ci(const char *s, size_t n, const char *p)
{
	size_t l = strlen(p);
	return n >= l && !strncasecmp(s, p, l);
}

static bool heading_like(const char *s, size_t n)
{
	size_t h = 0;
	while (h < n && h < 7 && s[h] == '#')
		h++;
	return h >= 1 && h <= 6 && h < n && s[h] == ' ';
}

static enum html_format sniff(const char *d, size_t len)
{
	static const char *const html_marks[] = {"<!doctype html", "<html", "<head", "<body", "<p>", "<div",
	                                         "<title", "<meta", "<h1", "<table", NULL};
	size_t n = len < SNIFF_BYTES ? len : SNIFF_BYTES, i = 0;
	if (n >= 3 && !memcmp(d, "\xEF\xBB\xBF", 3))
		i = 3;
	while (i < n && textstats_is_space((unsigned char)d[i]))
		i++;
	if (i < n && d[i] == '<') {
		for (size_t k = i; k < n && k < i + 1024; k++)
			for (const char *const *m = html_marks; *m; m++)
				if (d[k] == '<' && starts_ci(d + k, n - k, *m))
					return HTML_FORMAT_HTML;
	}
	struct codeblock_fence f;
	for (size_t pos = i; pos < n;) {
		size_t e = line_end(d, n, pos);
		if (heading_like(d + pos, e - pos) || codeblock_fence_open(d + pos, e - pos, &f))
			return HTML_FORMAT_MARKDOWN;
		pos = e + 1;
	}
	return HTML_FORMAT_TEXT;
}

enum html_format html_guess_format(const char *content_type, const char *name, const char *data, size_t len)
{
	enum html_format by_name = name ? format_of_name(name) : HTML_FORMAT_AUTO;
	const char *ct = content_type ? content_type : "";
	if (type_is(ct, "text/html") || type_is(ct, "application/xhtml+xml"))
		return HTML_FORMAT_HTML;
	if (by_name != HTML_FORMAT_AUTO)
		return by_name;
	if (type_is(ct, "text/markdown") || type_is(ct, "text/x-markdown"))
		return HTML_FORMAT_MARKDOWN;
	if (type_is(ct, "text/plain"))
		return sniff(data, len) == HTML_FORMAT_MARKDOWN ? HTML_FORMAT_MARKDOWN : HTML_FORMAT_TEXT;
	return sniff(data, len);
}

int html_doc_convert(const char *data, size_t len, enum html_format fmt, const char *charset,
                     struct html_doc *out, char **err)
{
	memset(out, 0, sizeof(*out));
	if (err)
		*err = NULL;
	if (!data)
		data = "";
	const char *why = binary_reason(data, len);
	if (why) {
		if (err)
			*err = xstrdup(why);
		return -1;
	}
	if (fmt == HTML_FORMAT_AUTO)
		fmt = sniff(data, len);
	struct buf owned = BUF_INIT;
	size_t n;
	const char *text = to_utf8(data, len, fmt, charset, &owned, &n);
	if (fmt == HTML_FORMAT_HTML)
		html_md_convert(text, n, out);
	else
		passthrough(text, n, fmt, out);
	out->format = fmt;
	buf_free(&owned);
	return 0;
}

int html_to_markdown(const char *html, size_t len, struct html_doc *out, char **err)
{
	return html_doc_convert(html, len, HTML_FORMAT_HTML, NULL, out, err);
}

void html_doc_free(struct html_doc *doc)
{
	free(doc->title);
	free(doc->description);
	free(doc->markdown);
	memset(doc, 0, sizeof(*doc));
}
