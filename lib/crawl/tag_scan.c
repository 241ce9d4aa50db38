/* Start-tag scanner (see tag_scan.h). The grammar it accepts, and how libxml2 2.9's HTML parser reads the same:
 *   text          up to the next '<'; a '<' before a blank, a digit, '=', '-' or '<' is text too
 *   <!-- ... -->  a comment, up to the first "-->"
 *   <!DOCTYPE ...> names, blanks and "quoted literals" up to '>'
 *   <?name ... >  a processing instruction, up to the first '>'
 *   </name>       an end tag: a name, blanks, '>'
 *   <name attr...> or <name attr.../>   a start tag; an attribute is a name, optionally '=' and a value:
 *                 "double-quoted", 'single-quoted' or unquoted (up to a blank or '>'); a quoted value is
 *                 followed by a blank, '/' or '>'
 *   <script ...> and <style ...> hold raw text up to "</script" or "</style" (any case), blanks, '>'
 * Names start with an ASCII letter and go on with letters, digits, '-', '_', ':' and '.'; blanks are space,
 * tab, LF and CR. Anything else is TAG_SCAN_UNSURE. */
#include "lib/crawl/tag_scan.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

struct scan {
	const char *p, *end;
	char names[TAG_SCAN_MAX_ATTRS + 1][32]; /* lowercased tag name (0) and attribute names */
	struct tag_attr attrs[TAG_SCAN_MAX_ATTRS];
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_name_char(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == ':' || c == '.';
}

static void skip_blanks(struct scan *s)
{
	while (s->p < s->end && is_blank(*s->p))
		s->p++;
}

/* Reads a name at s->p into out (lowercased, NUL-terminated); returns its length, 0 when there is none or it
 * does not fit. */
static size_t read_name(struct scan *s, char *out, size_t cap)
{
	if (s->p >= s->end || !is_alpha(*s->p))
		return 0;
	size_t n = 0;
	while (s->p < s->end && is_name_char(*s->p)) {
		if (n + 1 >= cap)
			return 0;
		char c = *s->p++;
		out[n++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	out[n] = '\0';
	return n;
}

/* Finds needle (n bytes, matched case-insensitively) from s->p; returns its start or NULL. */
static const char *find_ci(const struct scan *s, const char *needle, size_t n)
{
	for (const char *q = s->p; (size_t)(s->end - q) >= n; q++) {
		q = memchr(q, needle[0], (size_t)(s->end - q) - n + 1);
		if (!q)
			return NULL;
		if (strncasecmp(q, needle, n) == 0)
			return q;
	}
	return NULL;
}

/* The attributes of a start tag, s->p just past its name, up to and past its '>'. Returns the number of
 * attributes, or -1 (unsure); *self_closing tells "/>". */
static int read_attrs(struct scan *s, bool *self_closing)
{
	int n = 0;
	*self_closing = false;
	for (;;) {
		skip_blanks(s);
		if (s->p >= s->end)
			return -1;
		if (*s->p == '>') {
			s->p++;
			return n;
		}
		if (*s->p == '/') {
			if (s->p + 1 >= s->end || s->p[1] != '>')
				return -1;
			s->p += 2;
			*self_closing = true;
			return n;
		}
		if (n == TAG_SCAN_MAX_ATTRS)
			return -1;
		struct tag_attr *a = &s->attrs[n];
		a->name_len = read_name(s, s->names[n + 1], sizeof s->names[n + 1]);
		if (!a->name_len)
			return -1;
		a->name = s->names[n + 1];
		a->value = NULL;
		a->value_len = 0;
		n++;
		skip_blanks(s);
		if (s->p >= s->end)
			return -1;
		if (*s->p != '=')
			continue;
		s->p++;
		skip_blanks(s);
		if (s->p >= s->end)
			return -1;
		char q = *s->p;
		if (q == '"' || q == '\'') {
			const char *close = memchr(s->p + 1, q, (size_t)(s->end - s->p - 1));
			if (!close || close + 1 >= s->end)
				return -1;
			a->value = s->p + 1;
			a->value_len = (size_t)(close - a->value);
			s->p = close + 1;
			if (!is_blank(*s->p) && *s->p != '>' && *s->p != '/')
				return -1;
		} else {
			a->value = s->p;
			while (s->p < s->end && !is_blank(*s->p) && *s->p != '>')
				s->p++;
			a->value_len = (size_t)(s->p - a->value);
			if (!a->value_len)
				return -1;
		}
	}
}

/* After <script> or <style>: past the end tag that closes it. */
static bool skip_raw_text(struct scan *s, const char *name)
{
	char close[16] = "</";
	size_t n = strlen(name);
	memcpy(close + 2, name, n + 1);
	const char *at = find_ci(s, close, n + 2);
	if (!at)
		return false;
	s->p = at + n + 2;
	skip_blanks(s);
	if (s->p >= s->end || *s->p != '>')
		return false;
	s->p++;
	return true;
}

/* <!...> at s->p: a comment or a doctype, skipped. */
static bool skip_declaration(struct scan *s)
{
	if (s->end - s->p >= 4 && memcmp(s->p, "<!--", 4) == 0) {
		s->p += 4;
		const char *close = NULL;
		for (const char *q = s->p; (close = memchr(q, '-', (size_t)(s->end - q))); q = close + 1)
			if (s->end - close >= 3 && memcmp(close, "-->", 3) == 0)
				break;
		if (!close)
			return false;
		s->p = close + 3;
		return true;
	}
	if (s->end - s->p < 9 || strncasecmp(s->p, "<!doctype", 9) != 0)
		return false;
	/* names, blanks and quoted literals (without '<') up to '>' */
	for (s->p += 9; s->p < s->end; s->p++) {
		char c = *s->p;
		if (c == '>') {
			s->p++;
			return true;
		}
		if (c == '"' || c == '\'') {
			const char *close = memchr(s->p + 1, c, (size_t)(s->end - s->p - 1));
			if (!close || memchr(s->p + 1, '<', (size_t)(close - s->p - 1)))
				return false;
			s->p = close;
		} else if (!is_blank(c) && !is_name_char(c) && c != '/') {
			return false;
		}
	}
	return false;
}

int tag_scan(const char *html, size_t len, tag_scan_cb cb, void *arg)
{
	if (memchr(html, '\0', len))
		return TAG_SCAN_UNSURE;
	struct scan s = {.p = html, .end = html + len};
	while ((s.p = memchr(s.p, '<', (size_t)(s.end - s.p)))) {
		if (s.p + 1 >= s.end)
			return 0; /* a '<' ending the page is text */
		char c = s.p[1];
		if (is_blank(c) || (c >= '0' && c <= '9') || c == '=' || c == '-' || c == '<') {
			s.p++;
			continue;
		}
		if (c == '!') {
			if (!skip_declaration(&s))
				return TAG_SCAN_UNSURE;
			continue;
		}
		if (c == '?') {
			const char *close = memchr(s.p, '>', (size_t)(s.end - s.p));
			if (!close || s.p + 2 >= s.end || !is_alpha(s.p[2])) /* libxml2 wants a target name */
				return TAG_SCAN_UNSURE;
			s.p = close + 1;
			continue;
		}
		if (c == '/') {
			s.p += 2;
			if (!read_name(&s, s.names[0], sizeof s.names[0]))
				return TAG_SCAN_UNSURE;
			skip_blanks(&s);
			if (s.p >= s.end || *s.p != '>')
				return TAG_SCAN_UNSURE;
			s.p++;
			continue;
		}
		s.p++;
		size_t name_len = read_name(&s, s.names[0], sizeof s.names[0]);
		if (!name_len || s.p >= s.end || (!is_blank(*s.p) && *s.p != '>' && *s.p != '/'))
			return TAG_SCAN_UNSURE;
		bool self_closing;
		int nattrs = read_attrs(&s, &self_closing);
		if (nattrs < 0)
			return TAG_SCAN_UNSURE;
		int rc = cb(arg, s.names[0], name_len, s.attrs, (size_t)nattrs);
		if (rc)
			return rc;
		bool raw = strcmp(s.names[0], "script") == 0 || strcmp(s.names[0], "style") == 0;
		if (raw && (self_closing || !skip_raw_text(&s, s.names[0])))
			return TAG_SCAN_UNSURE; /* libxml2 reads <script/> as an empty element */
	}
	return 0;
}
