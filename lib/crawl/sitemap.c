/* Sitemap parsing: gzip with a hard inflate cap, libxml2 streaming reader for XML, plain-text URL lists. */
#include "lib/crawl/sitemap.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlreader.h>
#include <zlib.h>

#include "lib/util/mem.h"
#include "lib/crawl/url.h"

/* --- gzip --- */

/* Inflates a gzip stream (concatenated members included) into a new buffer of at most cap bytes.
 * Returns the buffer (NUL-terminated, length in *outlen) or NULL with *err set. */
static char *gunzip_capped(const unsigned char *in, size_t len, size_t cap, size_t *outlen, const char **err)
{
	z_stream zs;
	memset(&zs, 0, sizeof zs);
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
		*err = "gzip: cannot initialise zlib";
		return NULL;
	}
	size_t alloc = 64 * 1024, used = 0;
	char *out = xmalloc(alloc + 1);
	zs.next_in = (unsigned char *)in;
	zs.avail_in = (uInt)len; /* len <= SITEMAP_MAX_BYTES, checked by the caller */
	*err = NULL;
	for (;;) {
		if (used == alloc) {
			if (alloc > cap) {
				*err = "gzip: inflated size exceeds the sitemap limit (50 MB)";
				break;
			}
			alloc = alloc * 2 > cap + 1 ? cap + 1 : alloc * 2;
			out = xrealloc(out, alloc + 1);
		}
		zs.next_out = (unsigned char *)out + used;
		zs.avail_out = (uInt)(alloc - used);
		int rc = inflate(&zs, Z_NO_FLUSH);
		used = alloc - zs.avail_out;
		if (rc == Z_STREAM_END) {
			/* A further member starts with the magic bytes; other trailing bytes are ignored. */
			bool more = zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b;
			if (more && inflateReset(&zs) == Z_OK)
				continue;
			break;
		}
		if (rc != Z_OK) { /* Z_BUF_ERROR with output space free: the input ran out */
			bool cut = rc == Z_BUF_ERROR && zs.avail_in == 0;
			*err = cut ? "gzip: truncated stream" : "gzip: corrupt stream";
			break;
		}
	}
	inflateEnd(&zs);
	if (!*err && used > cap)
		*err = "gzip: inflated size exceeds the sitemap limit (50 MB)";
	if (*err) {
		free(out);
		return NULL;
	}
	out[used] = '\0';
	*outlen = used;
	return out;
}

/* --- entries --- */

static void add_entry(struct sitemap *sm, char *url, time_t lastmod)
{
	if (sm->n >= SITEMAP_MAX_URLS) {
		sm->truncated = true;
		free(url);
		return;
	}
	if (sm->n == 0 || (sm->n >= 16 && (sm->n & (sm->n - 1)) == 0)) /* capacity doubles from 16 */
		sm->entries = xrealloc(sm->entries, (sm->n ? sm->n * 2 : 16) * sizeof *sm->entries);
	sm->entries[sm->n++] = (struct sitemap_entry){url, lastmod};
}

static int idx_cmp(const void *x, const void *y, void *arg)
{
	const struct sitemap_entry *e = arg;
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	int r = strcmp(e[a].url, e[b].url);
	return r ? r : (a > b) - (a < b);
}

/* Removes repeated URLs, keeping the first occurrence and document order. */
static void dedupe(struct sitemap *sm)
{
	if (sm->n < 2)
		return;
	size_t *idx = xmalloc(sm->n * sizeof *idx);
	bool *drop = xcalloc(sm->n, sizeof *drop);
	for (size_t i = 0; i < sm->n; i++)
		idx[i] = i;
	qsort_r(idx, sm->n, sizeof *idx, idx_cmp, sm->entries);
	for (size_t i = 1; i < sm->n; i++)
		if (strcmp(sm->entries[idx[i - 1]].url, sm->entries[idx[i]].url) == 0)
			drop[idx[i]] = true;
	size_t o = 0;
	for (size_t i = 0; i < sm->n; i++) {
		if (drop[i])
			free(sm->entries[i].url);
		else
			sm->entries[o++] = sm->entries[i];
	}
	sm->n = o;
	free(idx);
	free(drop);
}

/* --- plain text --- */

/* One absolute URL per line; other lines (relative URLs, prose) are skipped. */
static void parse_text(const char *s, size_t len, struct sitemap *sm)
{
	for (size_t i = 0; i < len && !sm->truncated;) {
		size_t e = i;
		while (e < len && s[e] != '\n' && s[e] != '\r')
			e++;
		size_t b = i, n = e;
		while (b < n && (s[b] == ' ' || s[b] == '\t'))
			b++;
		if (n - b > 7 && n - b <= URL_MAX_LEN && memchr(s + b, '\0', n - b) == NULL) {
			char *line = xstrndup(s + b, n - b);
			char *url = url_canonical(line);
			free(line);
			if (url)
				add_entry(sm, url, 0);
		}
		i = e + 1;
	}
}

/* --- XML --- */

enum capture { CAP_NONE, CAP_LOC, CAP_LASTMOD };

struct xml_state {
	struct sitemap *sm;
	const char *base_url;
	bool saw_root, root_ok, in_entry;
	enum capture cap;
	char loc[URL_MAX_LEN + 1], lastmod[64];
	size_t loc_len, lastmod_len;
};

static void append_capped(char *dst, size_t *len, size_t cap, const char *s)
{
	size_t n = strlen(s);
	if (*len + n > cap)
		n = *len < cap ? cap - *len : 0;
	memcpy(dst + *len, s, n);
	*len += n;
	dst[*len] = '\0';
}

/* Trims ASCII whitespace in place; returns the start. */
static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static void finish_entry(struct xml_state *st)
{
	st->in_entry = false;
	if (st->loc_len == 0 || st->loc_len >= URL_MAX_LEN)
		return;
	const char *loc = trim(st->loc);
	char *url = st->base_url ? url_resolve(st->base_url, loc) : url_canonical(loc);
	if (url)
		add_entry(st->sm, url, sitemap_parse_datetime(st->lastmod));
}

static void on_element(struct xml_state *st, int depth, const char *name, bool empty)
{
	const char *entry_name = st->sm->is_index ? "sitemap" : "url";
	if (depth == 0) {
		st->saw_root = true;
		st->sm->is_index = strcmp(name, "sitemapindex") == 0;
		st->root_ok = st->sm->is_index || strcmp(name, "urlset") == 0;
	} else if (depth == 1 && strcmp(name, entry_name) == 0 && !empty) {
		st->in_entry = true;
		st->loc_len = st->lastmod_len = 0;
		st->loc[0] = st->lastmod[0] = '\0';
	} else if (depth == 2 && st->in_entry && !empty) {
		st->cap = strcmp(name, "loc") == 0       ? CAP_LOC
		          : strcmp(name, "lastmod") == 0 ? CAP_LASTMOD
		                                         : CAP_NONE;
	}
}

static void on_text(struct xml_state *st, const char *text)
{
	if (!text)
		return;
	if (st->cap == CAP_LOC)
		append_capped(st->loc, &st->loc_len, URL_MAX_LEN, text);
	else if (st->cap == CAP_LASTMOD)
		append_capped(st->lastmod, &st->lastmod_len, sizeof st->lastmod - 1, text);
}

/* Walks the document; returns -1 when it is not a sitemap. */
static int parse_xml(const char *s, size_t len, const char *base_url, struct sitemap *sm)
{
	int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA |
	           XML_PARSE_COMPACT;
	xmlTextReaderPtr r = xmlReaderForMemory(s, (int)len, NULL, NULL, opts);
	if (!r) {
		sm->error = "xml: cannot create a reader";
		return -1;
	}
	xmlTextReaderSetParserProp(r, XML_PARSER_LOADDTD, 0);
	xmlTextReaderSetParserProp(r, XML_PARSER_DEFAULTATTRS, 0);
	xmlTextReaderSetParserProp(r, XML_PARSER_VALIDATE, 0);
	xmlTextReaderSetParserProp(r, XML_PARSER_SUBST_ENTITIES, 0);
	struct xml_state *st = xcalloc(1, sizeof *st);
	st->sm = sm;
	st->base_url = base_url;
	int rc = 0;
	while (!sm->truncated && (rc = xmlTextReaderRead(r)) == 1) {
		int type = xmlTextReaderNodeType(r), depth = xmlTextReaderDepth(r);
		const char *name = (const char *)xmlTextReaderConstLocalName(r);
		if (type == XML_READER_TYPE_ELEMENT) {
			on_element(st, depth, name ? name : "", xmlTextReaderIsEmptyElement(r) == 1);
			if (depth == 0 && !st->root_ok)
				break;
		} else if (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA) {
			on_text(st, (const char *)xmlTextReaderConstValue(r));
		} else if (type == XML_READER_TYPE_END_ELEMENT) {
			if (depth == 2)
				st->cap = CAP_NONE;
			else if (depth == 1 && st->in_entry)
				finish_entry(st);
		}
	}
	int ret = 0;
	if (!st->saw_root) {
		sm->error = "xml: malformed document";
		ret = -1;
	} else if (!st->root_ok) {
		sm->error = "xml: root element is not urlset or sitemapindex";
		ret = -1;
	} else if (!sm->truncated && rc < 0) {
		sm->error = "xml: malformed document (cut short)";
	}
	free(st);
	xmlFreeTextReader(r);
	return ret;
}

int sitemap_parse(const void *data, size_t len, const char *base_url, struct sitemap *out)
{
	memset(out, 0, sizeof *out);
	if (!data)
		len = 0;
	if (len > SITEMAP_MAX_BYTES) {
		out->error = "sitemap larger than the limit (50 MB)";
		return -1;
	}
	const char *s = data;
	char *inflated = NULL;
	if (len >= 2 && (unsigned char)s[0] == 0x1f && (unsigned char)s[1] == 0x8b) {
		inflated = gunzip_capped(data, len, SITEMAP_MAX_BYTES, &len, &out->error);
		if (!inflated)
			return -1;
		s = inflated;
	}
	if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3, len -= 3;
	size_t i = 0;
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	int rc = 0;
	if (i < len && s[i] == '<')
		rc = parse_xml(s + i, len - i, base_url, out);
	else
		parse_text(s + i, len - i, out);
	free(inflated);
	dedupe(out);
	return rc;
}

void sitemap_free(struct sitemap *sm)
{
	for (size_t i = 0; i < sm->n; i++)
		free(sm->entries[i].url);
	free(sm->entries);
	memset(sm, 0, sizeof *sm);
}

/* Reads exactly n digits into *out. */
static bool digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return false;
		v = v * 10 + (**p - '0');
	}
	*out = v;
	return true;
}

/* Parses "Thh:mm[:ss[.f]]" and the zone after it into tm and *offset (seconds east of UTC). */
static bool parse_time(const char **p, struct tm *tm, long *offset)
{
	const char *s = *p;
	if (!digits(&s, 2, &tm->tm_hour) || *s++ != ':' || !digits(&s, 2, &tm->tm_min))
		return false;
	if (*s == ':') {
		s++;
		if (!digits(&s, 2, &tm->tm_sec))
			return false;
		if (*s == '.' || *s == ',')
			for (s++; *s >= '0' && *s <= '9'; s++)
				;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s++ == '-' ? -1 : 1, oh, om;
		if (!digits(&s, 2, &oh))
			return false;
		if (*s == ':')
			s++;
		if (!digits(&s, 2, &om) || oh > 23 || om > 59)
			return false;
		*offset = sign * (oh * 3600L + om * 60L);
	}
	*p = s;
	return tm->tm_hour <= 23 && tm->tm_min <= 59 && tm->tm_sec <= 60;
}

time_t sitemap_parse_datetime(const char *s)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (!s)
		return 0;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	struct tm tm = {.tm_mday = 1};
	int year, mon = 1;
	long offset = 0;
	if (!digits(&s, 4, &year))
		return 0;
	if (*s == '-') {
		s++;
		if (!digits(&s, 2, &mon))
			return 0;
		if (*s == '-') {
			s++;
			if (!digits(&s, 2, &tm.tm_mday))
				return 0;
			if ((*s == 'T' || *s == 't' || *s == ' ') && s[1] >= '0' && s[1] <= '9') {
				s++;
				if (!parse_time(&s, &tm, &offset))
					return 0;
			}
		}
	}
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	if (*s || year < 1970 || mon < 1 || mon > 12 || tm.tm_mday < 1 || tm.tm_mday > mdays[mon - 1])
		return 0;
	if (tm.tm_sec == 60)
		tm.tm_sec = 59;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	time_t t = timegm(&tm);
	if (t == (time_t)-1 || t - offset <= 0)
		return 0;
	return t - offset;
}
