/* robots.txt parser and matcher after RFC 9309. */
#include "lib/crawl/robots.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util/buf.h"
#include "lib/util/mem.h"
#include "lib/crawl/url.h"

#define CRAWL_DELAY_MAX 86400.0

struct rule {
	char *pat;       /* normalised; a raw '*' is a wildcard, no trailing '$' */
	size_t spec;     /* specificity: octets of the normalised pattern, '$' included */
	bool allow;
	bool anchored;   /* the pattern ended in '$' */
};

struct rules {
	struct rule *v;
	size_t n, cap;
	double delay; /* -1 when none */
};

enum robots_mode { MODE_RULES, MODE_ALLOW_ALL, MODE_UNREACHABLE };

struct robots {
	enum robots_mode mode;
	struct rules rules;
	char **sitemaps;
	size_t n_sitemaps;
	char *reason; /* why robots.txt is unreachable (robots_unreachable_because), or NULL */
};

/* Parser state while walking the lines. */
struct parser {
	struct robots *r;
	const char *token;  /* our product token */
	size_t token_len;
	bool in_agents;     /* the last group line was a User-agent line */
	bool any_group;     /* a User-agent line was seen */
	bool cur_specific;  /* the current group names our token */
	bool cur_star;      /* the current group names "*" */
	bool seen_specific; /* some group named our token */
	struct rules specific, star;
};

static bool is_unreserved(unsigned c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_' || c == '~';
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void put_escape(struct buf *b, unsigned c)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[3] = {'%', hex[(c >> 4) & 15], hex[c & 15]};
	buf_append(b, e, 3);
}

/* Appends s[0..n) normalised for comparison (see robots.h). In a pattern a raw '*' stays a wildcard; in a
 * path '*' and '$' are literal and so written as escapes, which is how a rule spells them literally. */
static void normalise(struct buf *b, const char *s, size_t n, bool pattern)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int hi, lo;
		if (c == '%' && i + 2 < n && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hexval((unsigned char)s[i + 2])) >= 0) {
			unsigned v = (unsigned)(hi * 16 + lo);
			if (is_unreserved(v))
				buf_putc(b, (char)v);
			else
				put_escape(b, v);
			i += 2;
		} else if (c <= 0x20 || c >= 0x7f || c == '%' || c == '$' || (c == '*' && !pattern)) {
			put_escape(b, c);
		} else {
			buf_putc(b, (char)c);
		}
	}
}

static void rules_add(struct rules *rs, const char *value, size_t n, bool allow)
{
	bool anchored = n && value[n - 1] == '$';
	if (anchored)
		n--;
	struct buf b = BUF_INIT;
	if (!n || (value[0] != '/' && value[0] != '*'))
		buf_putc(&b, '/');
	normalise(&b, value, n, true);
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 16;
		rs->v = xrealloc(rs->v, rs->cap * sizeof *rs->v);
	}
	rs->v[rs->n++] = (struct rule){.spec = b.len + anchored, .allow = allow, .anchored = anchored};
	rs->v[rs->n - 1].pat = buf_steal(&b);
}

static void rules_free(struct rules *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free(rs->v[i].pat);
	free(rs->v);
	memset(rs, 0, sizeof *rs);
	rs->delay = -1;
}

/* Longest first; on equal length Allow first: the first rule that matches decides. */
static int rule_cmp(const void *x, const void *y)
{
	const struct rule *a = x, *b = y;
	if (a->spec != b->spec)
		return a->spec > b->spec ? -1 : 1;
	return (int)b->allow - (int)a->allow;
}

/* True when the rule matches a prefix of path (all of it when anchored). Wildcard segments are placed
 * leftmost, which leaves the most room for the rest, so no backtracking is needed. */
static bool rule_matches(const struct rule *r, const char *path, size_t plen)
{
	const char *seg = r->pat;
	size_t pos = 0;
	for (bool first = true;; first = false) {
		const char *star = strchr(seg, '*');
		size_t slen = star ? (size_t)(star - seg) : strlen(seg);
		bool last = !star;
		if (first) {
			if (slen > plen || memcmp(path, seg, slen) != 0)
				return false;
			pos = slen;
			if (last && r->anchored)
				return pos == plen;
		} else if (last && r->anchored) {
			return plen - pos >= slen && memcmp(path + plen - slen, seg, slen) == 0;
		} else {
			const char *hit = memmem(path + pos, plen - pos, seg, slen);
			if (!hit)
				return false;
			pos = (size_t)(hit - path) + slen;
		}
		if (last)
			return true;
		seg = star + 1;
	}
}

/* Length of the product token at the start of s: letters, '_' and '-'. */
static size_t token_len(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && (((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') || s[i] == '_' || s[i] == '-'))
		i++;
	return i;
}

/* Parses a Crawl-delay value: digits with an optional fraction; returns -1 when there is no number. */
static double parse_delay(const char *s, size_t n)
{
	double v = 0, scale = 1;
	size_t i = 0;
	bool digits = false;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits = true)
		v = v < CRAWL_DELAY_MAX ? v * 10 + (s[i] - '0') : v;
	if (i < n && s[i] == '.')
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits = true)
			if (scale > 1e-9)
				v += (s[i] - '0') * (scale /= 10);
	if (!digits)
		return -1;
	return v > CRAWL_DELAY_MAX ? CRAWL_DELAY_MAX : v;
}

static void add_sitemap(struct robots *r, const char *value, size_t n)
{
	if (r->n_sitemaps >= ROBOTS_MAX_SITEMAPS || n > URL_STORE_MAX_LEN)
		return;
	char *raw = xstrndup(value, n);
	char *url = url_canonical(raw);
	free(raw);
	if (url && strlen(url) > URL_STORE_MAX_LEN) { /* canonical escapes can lengthen it */
		free(url);
		url = NULL;
	}
	if (!url)
		return;
	for (size_t i = 0; i < r->n_sitemaps; i++) {
		if (strcmp(r->sitemaps[i], url) == 0) {
			free(url);
			return;
		}
	}
	r->sitemaps = xrealloc(r->sitemaps, (r->n_sitemaps + 1) * sizeof *r->sitemaps);
	r->sitemaps[r->n_sitemaps++] = url;
}

enum key { KEY_OTHER, KEY_AGENT, KEY_ALLOW, KEY_DISALLOW, KEY_DELAY, KEY_SITEMAP };

static enum key classify_key(const char *k, size_t n)
{
	static const struct {
		const char *name;
		enum key key;
	} keys[] = {
		{"user-agent", KEY_AGENT}, {"useragent", KEY_AGENT},     {"user agent", KEY_AGENT},
		{"allow", KEY_ALLOW},      {"disallow", KEY_DISALLOW},   {"dissallow", KEY_DISALLOW},
		{"disalow", KEY_DISALLOW}, {"crawl-delay", KEY_DELAY},   {"sitemap", KEY_SITEMAP},
		{"site-map", KEY_SITEMAP},
	};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strlen(keys[i].name) == n && strncasecmp(keys[i].name, k, n) == 0)
			return keys[i].key;
	return KEY_OTHER;
}

static void on_agent(struct parser *p, const char *v, size_t n)
{
	if (!p->in_agents)
		p->cur_specific = p->cur_star = false;
	p->in_agents = p->any_group = true;
	size_t tl = token_len(v, n);
	if (n && v[0] == '*') {
		p->cur_star = true;
	} else if (tl && tl == p->token_len && strncasecmp(v, p->token, tl) == 0) {
		p->cur_specific = true;
		p->seen_specific = true;
	}
}

/* A rule or Crawl-delay line of the current group goes to each list the group applies to. */
static void on_member(struct parser *p, enum key key, const char *v, size_t n)
{
	p->in_agents = false;
	if (!p->any_group)
		return;
	struct rules *lists[2] = {p->cur_specific ? &p->specific : NULL, p->cur_star ? &p->star : NULL};
	for (int i = 0; i < 2; i++) {
		if (!lists[i])
			continue;
		if (key == KEY_DELAY) {
			double d = parse_delay(v, n);
			if (d > lists[i]->delay)
				lists[i]->delay = d;
		} else if (n) {
			rules_add(lists[i], v, n, key == KEY_ALLOW);
		}
	}
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

/* Handles one line (without its terminator). */
static void parse_line(struct parser *p, const char *s, size_t n)
{
	const char *hash = memchr(s, '#', n);
	if (hash)
		n = (size_t)(hash - s);
	const char *colon = memchr(s, ':', n);
	if (!colon)
		return;
	size_t kn = (size_t)(colon - s);
	while (kn && is_space(s[kn - 1]))
		kn--;
	while (kn && is_space(*s))
		s++, kn--, n--;
	const char *v = colon + 1;
	size_t vn = n - (size_t)(v - s);
	while (vn && is_space(*v))
		v++, vn--;
	while (vn && is_space(v[vn - 1]))
		vn--;
	enum key key = classify_key(s, kn);
	if (key == KEY_AGENT)
		on_agent(p, v, vn);
	else if (key == KEY_ALLOW || key == KEY_DISALLOW || key == KEY_DELAY)
		on_member(p, key, v, vn);
	else if (key == KEY_SITEMAP)
		add_sitemap(p->r, v, vn);
}

struct robots *robots_parse(const char *txt, size_t len, const char *user_agent_token)
{
	struct robots *r = xcalloc(1, sizeof *r);
	struct parser p = {.r = r, .token = user_agent_token ? user_agent_token : ""};
	p.token_len = token_len(p.token, strlen(p.token));
	p.specific.delay = p.star.delay = -1;
	if (!txt)
		len = 0;
	if (len > ROBOTS_MAX_BYTES) {
		len = ROBOTS_MAX_BYTES;
		while (len && txt[len - 1] != '\n' && txt[len - 1] != '\r')
			len--; /* drop the line the limit cut */
	}
	if (len >= 3 && memcmp(txt, "\xEF\xBB\xBF", 3) == 0)
		txt += 3, len -= 3;
	for (size_t i = 0; i < len;) {
		size_t e = i;
		while (e < len && txt[e] != '\n' && txt[e] != '\r')
			e++;
		parse_line(&p, txt + i, e - i);
		i = e + 1;
	}
	struct rules *use = p.seen_specific ? &p.specific : &p.star;
	r->rules = *use;
	memset(use, 0, sizeof *use);
	rules_free(&p.specific);
	rules_free(&p.star);
	if (r->rules.n)
		qsort(r->rules.v, r->rules.n, sizeof *r->rules.v, rule_cmp);
	return r;
}

struct robots *robots_for_status(int http_status)
{
	if (http_status >= 200 && http_status < 300)
		return NULL;
	struct robots *r = xcalloc(1, sizeof *r);
	r->rules.delay = -1;
	bool unavailable = http_status >= 300 && http_status < 500 && http_status != 429;
	r->mode = unavailable ? MODE_ALLOW_ALL : MODE_UNREACHABLE;
	return r;
}

bool robots_allowed(const struct robots *r, const char *path_and_query)
{
	const char *path = path_and_query && path_and_query[0] ? path_and_query : "/";
	size_t qpos = strcspn(path, "?");
	if (qpos == strlen("/robots.txt") && memcmp(path, "/robots.txt", qpos) == 0)
		return true;
	if (!r || r->mode == MODE_ALLOW_ALL)
		return true;
	if (r->mode == MODE_UNREACHABLE)
		return false;
	struct buf b = BUF_INIT;
	normalise(&b, path, strlen(path), false);
	bool allowed = true;
	for (size_t i = 0; i < r->rules.n; i++) {
		if (rule_matches(&r->rules.v[i], buf_str(&b), b.len)) {
			allowed = r->rules.v[i].allow;
			break;
		}
	}
	buf_free(&b);
	return allowed;
}

double robots_crawl_delay(const struct robots *r)
{
	return r ? r->rules.delay : -1;
}

size_t robots_sitemaps(const struct robots *r, const char *const **out)
{
	*out = r ? (const char *const *)r->sitemaps : NULL;
	return r ? r->n_sitemaps : 0;
}

bool robots_unreachable(const struct robots *r)
{
	return r && r->mode == MODE_UNREACHABLE;
}

struct robots *robots_unreachable_because(const char *reason)
{
	struct robots *r = robots_for_status(0);
	r->reason = xstrdup(reason ? reason : "unreachable");
	return r;
}

const char *robots_reason(const struct robots *r)
{
	return r ? r->reason : NULL;
}

void robots_free(struct robots *r)
{
	if (!r)
		return;
	rules_free(&r->rules);
	for (size_t i = 0; i < r->n_sitemaps; i++)
		free(r->sitemaps[i]);
	free(r->sitemaps);
	free(r->reason);
	free(r);
}
