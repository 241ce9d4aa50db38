/* URL canonicalisation and resolution for the crawler, built on libcurl's CURLU API. */
#include "lib/crawl/url.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "lib/util/buf.h"
#include "lib/util/hash.h"
#include "lib/util/mem.h"
#include "lib/text/utf8.h"

static const char HEX[] = "0123456789ABCDEF";

static bool is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_unreserved(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_' || c == '~';
}

static int hex_val(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return (c | 0x20) - 'a' + 10;
}

static char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

/* Strips leading/trailing C0 controls and spaces, removes tabs and newlines inside, turns a backslash before
 * the query into '/' (browsers do all three) and encodes inner spaces as %20 (libcurl would write '+' in a
 * resolved query). Returns a heap copy, or NULL when another control character remains or it is too long. */
static char *preclean(const char *in)
{
	if (!in)
		return NULL;
	size_t n = strlen(in);
	while (n && (unsigned char)in[n - 1] <= 0x20)
		n--;
	while (n && (unsigned char)*in <= 0x20) {
		in++;
		n--;
	}
	if (n > URL_MAX_LEN)
		return NULL;
	struct buf out = BUF_INIT;
	bool before_query = true;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '\t' || c == '\n' || c == '\r')
			continue;
		if (c < 0x20 || c == 0x7f) {
			buf_free(&out);
			return NULL;
		}
		if (c == '?' || c == '#')
			before_query = false;
		if (c == ' ')
			buf_puts(&out, "%20");
		else
			buf_putc(&out, (c == '\\' && before_query) ? '/' : (char)c);
	}
	return buf_steal(&out);
}

/* Appends s with browser-style escaping (see url.h); query selects the query's escape set. */
static void normalise_part(struct buf *b, const char *s, bool query)
{
	const char *esc = query ? "\"<>'#" : "\"<>`{}#?";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '%' && is_hex(p[1]) && is_hex(p[2])) {
			int v = hex_val(p[1]) * 16 + hex_val(p[2]);
			char e[3] = {'%', HEX[hex_val(p[1])], HEX[hex_val(p[2])]};
			if (is_unreserved(v))
				buf_putc(b, (char)v);
			else
				buf_append(b, e, 3);
			p += 2;
		} else if (*p <= 0x20 || *p >= 0x7f || *p == '%' || strchr(esc, *p)) {
			char e[3] = {'%', HEX[*p >> 4], HEX[*p & 15]};
			buf_append(b, e, 3);
		} else {
			buf_putc(b, (char)*p);
		}
	}
}

/* Appends one part (path or query) of u normalised; a missing query appends nothing. Returns false on
 * failure. */
static bool append_part(struct buf *b, CURLU *u, CURLUPart part)
{
	char *v = NULL;
	CURLUcode rc = curl_url_get(u, part, &v, 0);
	if (rc == CURLUE_NO_QUERY)
		return true;
	if (rc != CURLUE_OK)
		return false;
	if (part == CURLUPART_QUERY && v[0])
		buf_putc(b, '?');
	normalise_part(b, v, part == CURLUPART_QUERY);
	curl_free(v);
	return true;
}

/* Appends the host with its ASCII letters lower-cased; refuses an empty host, a zone id or invalid UTF-8. */
static bool append_host(struct buf *b, CURLU *u)
{
	char *h = NULL, *zone = NULL;
	if (curl_url_get(u, CURLUPART_ZONEID, &zone, 0) == CURLUE_OK) {
		curl_free(zone);
		return false;
	}
	if (curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK)
		return false;
	size_t n = strlen(h);
	bool ok = n > 0 && utf8_is_clean(h, n);
	for (size_t i = 0; ok && i < n; i++)
		buf_putc(b, ascii_lower(h[i]));
	curl_free(h);
	return ok;
}

static bool append_scheme(struct buf *b, CURLU *u)
{
	char *s = NULL;
	if (curl_url_get(u, CURLUPART_SCHEME, &s, 0) != CURLUE_OK)
		return false;
	bool ok = strcmp(s, "http") == 0 || strcmp(s, "https") == 0;
	if (ok)
		buf_printf(b, "%s://", s);
	curl_free(s);
	return ok;
}

static bool scheme_is_http(CURLU *u)
{
	struct buf b = BUF_INIT;
	bool ok = append_scheme(&b, u);
	buf_free(&b);
	return ok;
}

/* Builds the canonical string (see url.h) from a parsed handle; NULL when it does not qualify. */
static char *finish(CURLU *u)
{
	struct buf b = BUF_INIT;
	bool ok = append_scheme(&b, u) && append_host(&b, u);
	char *port = NULL;
	if (ok && curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT) == CURLUE_OK) {
		buf_printf(&b, ":%s", port);
		curl_free(port);
	}
	ok = ok && append_part(&b, u, CURLUPART_PATH) && append_part(&b, u, CURLUPART_QUERY);
	if (!ok || b.len > URL_MAX_LEN) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* Parses an absolute http(s) URL into u. */
static bool set_absolute(CURLU *u, const char *url)
{
	char *pre = preclean(url);
	bool ok = pre && curl_url_set(u, CURLUPART_URL, pre, 0) == CURLUE_OK && scheme_is_http(u);
	free(pre);
	return ok;
}

char *url_canonical(const char *url)
{
	CURLU *u = curl_url();
	if (!u)
		abort();
	char *out = set_absolute(u, url) ? finish(u) : NULL;
	curl_url_cleanup(u);
	return out;
}

char *url_resolve(const char *base, const char *ref)
{
	char *pre = preclean(ref);
	if (!pre)
		return NULL;
	/* libcurl 7.88 resolves "" and "#frag" to the base's directory; RFC 3986 says the base itself. */
	if (pre[0] == '\0' || pre[0] == '#') {
		free(pre);
		return url_canonical(base);
	}
	CURLU *u = curl_url();
	if (!u)
		abort();
	char *out = NULL;
	if (set_absolute(u, base) && curl_url_set(u, CURLUPART_URL, pre, 0) == CURLUE_OK)
		out = finish(u);
	curl_url_cleanup(u);
	free(pre);
	return out;
}

/* Length of the segment that ref is, or 0 when ref is not one segment of unreserved characters (with an
 * optional fragment), the first not a dot (so never "." or ".."). */
static size_t plain_segment(const char *ref)
{
	if (!is_unreserved((unsigned char)ref[0]) || ref[0] == '.')
		return 0;
	size_t n = 1;
	while (is_unreserved((unsigned char)ref[n]))
		n++;
	return ref[n] == '\0' || ref[n] == '#' ? n : 0;
}

char *url_resolve_canonical(const char *canonical_base, const char *ref)
{
	size_t seg = ref ? plain_segment(ref) : 0;
	const char *auth = seg ? strstr(canonical_base, "://") : NULL;
	const char *path = auth ? strchr(auth + 3, '/') : NULL;
	if (!path)
		return url_resolve(canonical_base, ref);
	size_t end = strcspn(path, "?"), dir = end;
	while (dir > 0 && path[dir - 1] != '/')
		dir--;
	size_t head = (size_t)(path - canonical_base) + dir;
	if (head + seg > URL_MAX_LEN)
		return NULL;
	char *out = xmalloc(head + seg + 1);
	memcpy(out, canonical_base, head);
	memcpy(out + head, ref, seg);
	out[head + seg] = '\0';
	return out;
}

/* Canonicalises url and finds where its authority and path start. Returns the canonical string or NULL. */
static char *split_canonical(const char *url, size_t *auth, size_t *path)
{
	char *c = url_canonical(url);
	if (!c)
		return NULL;
	const char *a = strstr(c, "://");
	const char *p = a ? strchr(a + 3, '/') : NULL;
	if (!p) { /* cannot happen: libcurl always writes "scheme://host/..." */
		free(c);
		return NULL;
	}
	*auth = (size_t)(a + 3 - c);
	*path = (size_t)(p - c);
	return c;
}

char *url_host(const char *url)
{
	size_t a, p;
	char *c = split_canonical(url, &a, &p);
	if (!c)
		return NULL;
	char *out = xstrndup(c + a, p - a);
	free(c);
	return out;
}

char *url_origin(const char *url)
{
	size_t a, p;
	char *c = split_canonical(url, &a, &p);
	if (c)
		c[p] = '\0';
	return c;
}

char *url_path_query(const char *url)
{
	size_t a, p;
	char *c = split_canonical(url, &a, &p);
	if (!c)
		return NULL;
	char *out = xstrdup(c + p);
	free(c);
	return out;
}

/* --- source id (Archon's generate_unique_source_id) --- */

struct qpair {
	char *name, *value;
	size_t nlen, vlen;
};

/* Decodes a form-encoded component as Python's unquote_plus does: '+' is a space, valid %XX escapes are
 * decoded, then invalid UTF-8 bytes each become U+FFFD. */
static char *form_decode(const char *s, size_t n, size_t *outlen)
{
	struct buf raw = BUF_INIT, out = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '+') {
			buf_putc(&raw, ' ');
		} else if (c == '%' && i + 2 < n && is_hex((unsigned char)s[i + 1]) &&
		           is_hex((unsigned char)s[i + 2])) {
			int hi = hex_val((unsigned char)s[i + 1]), lo = hex_val((unsigned char)s[i + 2]);
			buf_putc(&raw, (char)(hi * 16 + lo));
			i += 2;
		} else {
			buf_putc(&raw, (char)c);
		}
	}
	for (size_t i = 0; i < raw.len;) {
		size_t l = raw.data[i] ? utf8_seq_len((const unsigned char *)raw.data + i, raw.len - i) : 1;
		if (l == 0) {
			buf_append(&out, "\xEF\xBF\xBD", 3);
			l = 1;
		} else {
			buf_append(&out, raw.data + i, l);
		}
		i += l;
	}
	buf_free(&raw);
	*outlen = out.len;
	return buf_steal(&out);
}

/* Appends s[0..n) form-encoded as Python's quote_plus does. */
static void form_encode(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_unreserved(c)) {
			buf_putc(b, (char)c);
		} else if (c == ' ') {
			buf_putc(b, '+');
		} else {
			char e[3] = {'%', HEX[c >> 4], HEX[c & 15]};
			buf_append(b, e, 3);
		}
	}
}

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int r = memcmp(a, b, an < bn ? an : bn);
	if (r)
		return r;
	return an < bn ? -1 : an > bn;
}

static int qpair_cmp(const void *x, const void *y)
{
	const struct qpair *a = x, *b = y;
	int r = bytes_cmp(a->name, a->nlen, b->name, b->nlen);
	return r ? r : bytes_cmp(a->value, a->vlen, b->value, b->vlen);
}

static bool is_tracking_param(const char *name, size_t n)
{
	static const char *const names[] = {"utm_source", "utm_medium", "utm_campaign", "utm_term",
	                                    "utm_content", "gclid", "fbclid", "ref", "source"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i]) == n && memcmp(names[i], name, n) == 0)
			return true;
	return false;
}

/* Appends the query as Archon rebuilds it: pairs decoded, tracking parameters dropped, sorted, re-encoded. */
static void source_id_query(struct buf *b, const char *q)
{
	size_t cap = 1;
	for (const char *p = q; *p; p++)
		cap += *p == '&';
	struct qpair *pairs = xcalloc(cap, sizeof *pairs);
	size_t n = 0;
	for (const char *p = q; *p;) {
		size_t len = strcspn(p, "&");
		if (len) {
			const char *eq = memchr(p, '=', len);
			size_t klen = eq ? (size_t)(eq - p) : len;
			struct qpair *qp = &pairs[n];
			qp->name = form_decode(p, klen, &qp->nlen);
			qp->value = eq ? form_decode(eq + 1, len - klen - 1, &qp->vlen) : xstrdup("");
			if (!eq)
				qp->vlen = 0;
			if (is_tracking_param(qp->name, qp->nlen)) {
				free(qp->name);
				free(qp->value);
			} else {
				n++;
			}
		}
		p += len + (p[len] == '&');
	}
	qsort(pairs, n, sizeof *pairs, qpair_cmp);
	for (size_t i = 0; i < n; i++) {
		buf_putc(b, i ? '&' : '?');
		form_encode(b, pairs[i].name, pairs[i].nlen);
		buf_putc(b, '=');
		form_encode(b, pairs[i].value, pairs[i].vlen);
		free(pairs[i].name);
		free(pairs[i].value);
	}
	free(pairs);
}

char *url_source_id(const char *url)
{
	size_t a, p;
	char *c = split_canonical(url, &a, &p);
	if (!c)
		return NULL;
	struct buf b = BUF_INIT;
	buf_append(&b, c, p); /* scheme://host[:port] */
	char *query = strchr(c + p, '?');
	if (query)
		*query++ = '\0';
	/* Python's urlparse moves ";params" of the last segment out of the path, and Archon drops them. */
	char *path = c + p;
	char *semi = strchr(strrchr(path, '/'), ';');
	if (semi)
		*semi = '\0';
	size_t plen = strlen(path);
	if (plen > 1 && path[plen - 1] == '/')
		while (plen && path[plen - 1] == '/')
			plen--;
	buf_append(&b, path, plen);
	if (query)
		source_id_query(&b, query);
	char hex[HASH_HEX_LEN + 1];
	hash_sha256_hex(b.data, b.len, hex);
	buf_free(&b);
	free(c);
	return xstrndup(hex, URL_SOURCE_ID_LEN);
}
