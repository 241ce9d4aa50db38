/* Sitemap parsing: gzip with a hard inflate cap, libxml2 streaming reader for XML, plain-text URL lists; all of
 * it resumable in bounded steps (sitemap_reader). */
#include "lib/crawl/sitemap.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlreader.h>
#include <zlib.h>

#include "lib/util/mem.h"
#include "lib/crawl/url.h"

/* Work done per sitemap_reader_step, whatever max_out is, so one step stays short on an event loop. */
#define STEP_INFLATE_BYTES (1024 * 1024) /* gzip output inflated */
#define STEP_XML_NODES 20000             /* XML nodes read */
#define STEP_TEXT_BYTES (1024 * 1024)    /* plain-text bytes scanned */

#define GZIP_TOO_BIG "gzip: inflated size exceeds the sitemap limit (50 MB)"

enum capture { CAP_NONE, CAP_LOC, CAP_LASTMOD };
enum phase { PH_INFLATE, PH_START, PH_XML, PH_TEXT, PH_END };

struct sitemap_reader {
	enum phase phase;
	char *base_url;
	size_t max_entries, n_entries; /* the file's cap and the entries given out so far */
	/* gzip input (a copy) and its inflated output, which becomes the body */
	unsigned char *gz;
	z_stream zs;
	bool zs_open;
	/* the body */
	char *body;
	size_t len, alloc, pos; /* pos: where the plain-text scan is */
	xmlTextReaderPtr xml;
	/* the XML walk */
	bool saw_root, root_ok, in_entry;
	enum capture cap;
	char loc[URL_MAX_LEN + 1], lastmod[64];
	size_t loc_len, lastmod_len;
	/* what the caller sees */
	bool is_index, truncated;
	size_t skipped_long;
	const char *error;
	struct sitemap *out; /* during a step */
	size_t out_max;
};

/* --- gzip --- */

/* Inflates up to STEP_INFLATE_BYTES more (concatenated members included); moves to PH_START at the end of
 * the stream. Returns -1 with r->error set on a corrupt or truncated stream or one over SITEMAP_MAX_BYTES. */
static int inflate_some(struct sitemap_reader *r)
{
	size_t goal = r->len + STEP_INFLATE_BYTES;
	while (r->len < goal) {
		if (r->len == r->alloc) {
			if (r->alloc > SITEMAP_MAX_BYTES) {
				r->error = GZIP_TOO_BIG;
				return -1;
			}
			r->alloc = r->alloc * 2 > SITEMAP_MAX_BYTES + 1 ? SITEMAP_MAX_BYTES + 1 : r->alloc * 2;
			r->body = xrealloc(r->body, r->alloc + 1);
		}
		r->zs.next_out = (unsigned char *)r->body + r->len;
		r->zs.avail_out = (uInt)(r->alloc - r->len);
		int rc = inflate(&r->zs, Z_NO_FLUSH);
		r->len = r->alloc - r->zs.avail_out;
		if (rc == Z_STREAM_END) {
			/* A further member starts with the magic bytes; other trailing bytes are ignored. */
			bool more = r->zs.avail_in >= 2 && r->zs.next_in[0] == 0x1f && r->zs.next_in[1] == 0x8b;
			if (more && inflateReset(&r->zs) == Z_OK)
				continue;
			if (r->len > SITEMAP_MAX_BYTES) {
				r->error = GZIP_TOO_BIG;
				return -1;
			}
			inflateEnd(&r->zs);
			r->zs_open = false;
			free(r->gz);
			r->gz = NULL;
			r->body[r->len] = '\0';
			r->phase = PH_START;
			return 0;
		}
		if (rc != Z_OK) { /* Z_BUF_ERROR with output space free: the input ran out */
			bool cut = rc == Z_BUF_ERROR && r->zs.avail_in == 0;
			r->error = cut ? "gzip: truncated stream" : "gzip: corrupt stream";
			return -1;
		}
	}
	return 0;
}

/* --- entries --- */

/* Gives url to the step's output, or counts and drops it. */
static void add_entry(struct sitemap_reader *r, char *url, time_t lastmod)
{
	if (strlen(url) > URL_STORE_MAX_LEN) {
		r->skipped_long++;
		free(url);
		return;
	}
	if (r->n_entries >= r->max_entries) {
		r->truncated = true;
		free(url);
		return;
	}
	struct sitemap *sm = r->out;
	if (sm->n == 0 || (sm->n >= 16 && (sm->n & (sm->n - 1)) == 0)) /* capacity doubles from 16 */
		sm->entries = xrealloc(sm->entries, (sm->n ? sm->n * 2 : 16) * sizeof *sm->entries);
	sm->entries[sm->n++] = (struct sitemap_entry){url, lastmod};
	r->n_entries++;
}

/* True when the step has given out what it may. */
static bool step_full(const struct sitemap_reader *r)
{
	return r->truncated || r->out->n >= r->out_max;
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

/* One absolute URL per line; other lines (relative URLs, prose) are skipped. Scans on from r->pos. */
static void text_some(struct sitemap_reader *r)
{
	const char *s = r->body;
	size_t len = r->len, stop = r->pos + STEP_TEXT_BYTES;
	size_t i = r->pos;
	while (i < len && i < stop && !step_full(r)) {
		size_t e = i;
		while (e < len && s[e] != '\n' && s[e] != '\r')
			e++;
		size_t b = i, n = e;
		while (b < n && (s[b] == ' ' || s[b] == '\t'))
			b++;
		if (n - b > URL_MAX_LEN) {
			r->skipped_long++;
		} else if (n - b > 7 && memchr(s + b, '\0', n - b) == NULL) {
			char *line = xstrndup(s + b, n - b);
			char *url = url_canonical(line);
			if (!url && n - b > URL_STORE_MAX_LEN)
				r->skipped_long++;
			free(line);
			if (url)
				add_entry(r, url, 0);
		}
		i = e + 1;
	}
	r->pos = i;
	if (i >= len || r->truncated)
		r->phase = PH_END;
}

/* --- XML --- */

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

static void finish_entry(struct sitemap_reader *r)
{
	r->in_entry = false;
	if (r->loc_len == 0)
		return;
	if (r->loc_len >= URL_MAX_LEN) {
		r->skipped_long++;
		return;
	}
	const char *loc = trim(r->loc);
	char *url = r->base_url ? url_resolve(r->base_url, loc) : url_canonical(loc);
	if (url)
		add_entry(r, url, sitemap_parse_datetime(r->lastmod));
}

static void on_element(struct sitemap_reader *r, int depth, const char *name, bool empty)
{
	const char *entry_name = r->is_index ? "sitemap" : "url";
	if (depth == 0) {
		r->saw_root = true;
		r->is_index = strcmp(name, "sitemapindex") == 0;
		r->root_ok = r->is_index || strcmp(name, "urlset") == 0;
	} else if (depth == 1 && strcmp(name, entry_name) == 0 && !empty) {
		r->in_entry = true;
		r->loc_len = r->lastmod_len = 0;
		r->loc[0] = r->lastmod[0] = '\0';
	} else if (depth == 2 && r->in_entry && !empty) {
		r->cap = strcmp(name, "loc") == 0       ? CAP_LOC
		         : strcmp(name, "lastmod") == 0 ? CAP_LASTMOD
		                                        : CAP_NONE;
	}
}

static void on_text(struct sitemap_reader *r, const char *text)
{
	if (!text)
		return;
	if (r->cap == CAP_LOC)
		append_capped(r->loc, &r->loc_len, URL_MAX_LEN, text);
	else if (r->cap == CAP_LASTMOD)
		append_capped(r->lastmod, &r->lastmod_len, sizeof r->lastmod - 1, text);
}

static int xml_start(struct sitemap_reader *r, const char *s, size_t len)
{
	int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA |
	           XML_PARSE_COMPACT;
	r->xml = xmlReaderForMemory(s, (int)len, NULL, NULL, opts);
	if (!r->xml) {
		r->error = "xml: cannot create a reader";
		return -1;
	}
	xmlTextReaderSetParserProp(r->xml, XML_PARSER_LOADDTD, 0);
	xmlTextReaderSetParserProp(r->xml, XML_PARSER_DEFAULTATTRS, 0);
	xmlTextReaderSetParserProp(r->xml, XML_PARSER_VALIDATE, 0);
	xmlTextReaderSetParserProp(r->xml, XML_PARSER_SUBST_ENTITIES, 0);
	r->phase = PH_XML;
	return 0;
}

/* Reads up to STEP_XML_NODES more nodes. Returns -1 when the document is not a sitemap. */
static int xml_some(struct sitemap_reader *r)
{
	int rc = 1;
	for (int nodes = 0; nodes < STEP_XML_NODES && !step_full(r) && (rc = xmlTextReaderRead(r->xml)) == 1;
	     nodes++) {
		int type = xmlTextReaderNodeType(r->xml), depth = xmlTextReaderDepth(r->xml);
		const char *name = (const char *)xmlTextReaderConstLocalName(r->xml);
		if (type == XML_READER_TYPE_ELEMENT) {
			on_element(r, depth, name ? name : "", xmlTextReaderIsEmptyElement(r->xml) == 1);
			if (depth == 0 && !r->root_ok) {
				rc = 0;
				break;
			}
		} else if (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA) {
			on_text(r, (const char *)xmlTextReaderConstValue(r->xml));
		} else if (type == XML_READER_TYPE_END_ELEMENT) {
			if (depth == 2)
				r->cap = CAP_NONE;
			else if (depth == 1 && r->in_entry)
				finish_entry(r);
		}
	}
	if (rc == 1 && !r->truncated)
		return 0; /* more to read */
	r->phase = PH_END;
	if (!r->saw_root) {
		r->error = "xml: malformed document";
		return -1;
	}
	if (!r->root_ok) {
		r->error = "xml: root element is not urlset or sitemapindex";
		return -1;
	}
	if (!r->truncated && rc < 0)
		r->error = "xml: malformed document (cut short)";
	return 0;
}

/* --- the reader --- */

struct sitemap_reader *sitemap_reader_new(const void *data, size_t len, const char *base_url, size_t max_entries)
{
	struct sitemap_reader *r = xcalloc(1, sizeof *r);
	r->base_url = base_url ? xstrdup(base_url) : NULL;
	r->max_entries = max_entries && max_entries < SITEMAP_MAX_URLS ? max_entries : SITEMAP_MAX_URLS;
	if (!data)
		len = 0;
	if (len > SITEMAP_MAX_BYTES) {
		r->error = "sitemap larger than the limit (50 MB)";
		r->phase = PH_END;
		return r;
	}
	const unsigned char *s = data;
	if (len >= 2 && s[0] == 0x1f && s[1] == 0x8b) {
		r->gz = xmalloc(len);
		memcpy(r->gz, s, len);
		if (inflateInit2(&r->zs, 16 + MAX_WBITS) != Z_OK) {
			r->error = "gzip: cannot initialise zlib";
			r->phase = PH_END;
			return r;
		}
		r->zs_open = true;
		r->zs.next_in = r->gz;
		r->zs.avail_in = (uInt)len; /* len <= SITEMAP_MAX_BYTES */
		r->alloc = 64 * 1024;
		r->body = xmalloc(r->alloc + 1);
		r->phase = PH_INFLATE;
	} else {
		r->body = xmalloc(len + 1);
		if (len)
			memcpy(r->body, s, len);
		r->body[len] = '\0';
		r->len = len;
		r->phase = PH_START;
	}
	return r;
}

/* Picks XML or plain text for the (inflated) body. */
static int body_start(struct sitemap_reader *r)
{
	const char *s = r->body;
	size_t len = r->len, i = 0;
	if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	if (i < len && s[i] == '<')
		return xml_start(r, s + i, len - i);
	r->pos = i;
	r->phase = PH_TEXT;
	return 0;
}

int sitemap_reader_step(struct sitemap_reader *r, size_t max_out, struct sitemap *out)
{
	sitemap_free(out);
	r->out = out;
	r->out_max = max_out ? max_out : 1;
	int rc = 0;
	if (r->phase == PH_END && r->error && !r->saw_root)
		rc = -1; /* failed before any XML: too big, gzip */
	else if (r->phase == PH_INFLATE)
		rc = inflate_some(r);
	else if (r->phase == PH_START)
		rc = body_start(r);
	else if (r->phase == PH_XML)
		rc = xml_some(r);
	else if (r->phase == PH_TEXT)
		text_some(r);
	if (rc < 0)
		r->phase = PH_END;
	out->is_index = r->is_index;
	out->truncated = r->truncated;
	out->skipped_long = r->skipped_long;
	out->error = r->error;
	r->out = NULL;
	return rc < 0 ? -1 : r->phase == PH_END ? 0 : 1;
}

void sitemap_reader_free(struct sitemap_reader *r)
{
	if (!r)
		return;
	if (r->xml)
		xmlFreeTextReader(r->xml);
	if (r->zs_open)
		inflateEnd(&r->zs);
	free(r->gz);
	free(r->body);
	free(r->base_url);
	free(r);
}

int sitemap_parse(const void *data, size_t len, const char *base_url, struct sitemap *out)
{
	memset(out, 0, sizeof *out);
	struct sitemap_reader *r = sitemap_reader_new(data, len, base_url, SITEMAP_MAX_URLS);
	struct sitemap all = {0}, part = {0};
	int rc;
	while ((rc = sitemap_reader_step(r, SITEMAP_MAX_URLS, &part)) >= 0) {
		if (part.n) {
			all.entries = xrealloc(all.entries, (all.n + part.n) * sizeof *all.entries);
			memcpy(all.entries + all.n, part.entries, part.n * sizeof *part.entries);
			all.n += part.n;
			free(part.entries);
			part.entries = NULL;
			part.n = 0;
		}
		if (rc == 0)
			break;
	}
	all.is_index = part.is_index;
	all.truncated = part.truncated;
	all.skipped_long = part.skipped_long;
	all.error = part.error;
	sitemap_free(&part);
	sitemap_reader_free(r);
	dedupe(&all);
	*out = all;
	return rc < 0 ? -1 : 0;
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
