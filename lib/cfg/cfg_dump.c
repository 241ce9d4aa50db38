/* The effective configuration written back as YAML, with the database password masked. */
#include "lib/cfg/cfg_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util/buf.h"
#include "lib/util/duration.h"
#include "lib/util/mem.h"

#define MASK "****"

/* True when the URI query parameter p[0..n) (before its '=') percent-decodes to "password". */
static bool param_is_password(const char *p, size_t n)
{
	char key[16];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)p[i];
		if (c == '%' && i + 2 < n && isxdigit((unsigned char)p[i + 1]) && isxdigit((unsigned char)p[i + 2])) {
			char hex[3] = {p[i + 1], p[i + 2], '\0'};
			c = (int)strtol(hex, NULL, 16);
			i += 2;
		}
		if (k + 1 >= sizeof key)
			return false;
		key[k++] = (char)c;
	}
	key[k] = '\0';
	return strcasecmp(key, "password") == 0;
}

/* postgres[ql]://user:PASSWORD@host/db?password=PASSWORD&… */
static void mask_uri(struct buf *b, const char *dsn, const char *rest)
{
	size_t qpos = strcspn(rest, "?#");
	const char *at = NULL;
	for (const char *p = rest; p < rest + qpos; p++)
		if (*p == '@')
			at = p; /* the last '@': a password with an unencoded '@' stays masked */
	const char *colon = at ? memchr(rest, ':', (size_t)(at - rest)) : NULL;
	if (colon) {
		buf_append(b, dsn, (size_t)(colon + 1 - dsn));
		buf_puts(b, MASK);
		buf_append(b, at, (size_t)(rest + qpos - at));
	} else {
		buf_append(b, dsn, (size_t)(rest + qpos - dsn));
	}
	const char *q = rest + qpos;
	if (*q != '?') {
		buf_puts(b, q);
		return;
	}
	buf_putc(b, *q++);
	while (*q) {
		size_t n = strcspn(q, "&#"), eq = strcspn(q, "=");
		if (eq < n && param_is_password(q, eq)) {
			buf_append(b, q, eq + 1);
			buf_puts(b, MASK);
		} else {
			buf_append(b, q, n);
		}
		q += n;
		if (*q == '&')
			buf_putc(b, *q++);
		else if (*q == '#')
			break;
	}
}

/* keyword=value pairs; values may be 'quoted' and hold backslash escapes. Anything unparseable is masked
 * from that point on, since it may hold the password. */
static void mask_keyvalue(struct buf *b, const char *p)
{
	while (*p) {
		if (isspace((unsigned char)*p)) {
			buf_putc(b, *p++);
			continue;
		}
		const char *kw = p;
		while (*p && *p != '=' && !isspace((unsigned char)*p))
			p++;
		size_t kwlen = (size_t)(p - kw);
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '=') {
			buf_puts(b, MASK);
			return;
		}
		p++;
		while (isspace((unsigned char)*p))
			p++;
		const char *v = p;
		if (*p == '\'') {
			for (p++; *p && *p != '\''; p++)
				if (*p == '\\' && p[1])
					p++;
			if (*p != '\'') {
				buf_append(b, kw, kwlen);
				buf_puts(b, "=" MASK);
				return;
			}
			p++;
		} else {
			for (; *p && !isspace((unsigned char)*p); p++)
				if (*p == '\\' && p[1])
					p++;
		}
		buf_append(b, kw, kwlen);
		buf_putc(b, '=');
		if (kwlen == 8 && strncasecmp(kw, "password", 8) == 0)
			buf_puts(b, MASK);
		else
			buf_append(b, v, (size_t)(p - v));
	}
}

char *cfg_mask_conninfo(const char *dsn)
{
	struct buf b = BUF_INIT;
	if (strncmp(dsn, "postgresql://", 13) == 0)
		mask_uri(&b, dsn, dsn + 13);
	else if (strncmp(dsn, "postgres://", 11) == 0)
		mask_uri(&b, dsn, dsn + 11);
	else
		mask_keyvalue(&b, dsn);
	return buf_steal(&b);
}

/* A YAML double-quoted scalar. */
static void put_quoted(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_printf(b, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			buf_printf(b, "\\x%02x", *p);
		else
			buf_putc(b, (char)*p);
	}
	buf_putc(b, '"');
}

static void put_value(struct buf *b, const struct cfg *c, const struct cfg_key *k, int depth)
{
	const void *f = (const char *)c + k->off;
	char tmp[DURATION_FMT_MAX];
	switch (k->type) {
	case CFG_INT:
		buf_printf(b, "%d", *(const int *)f);
		break;
	case CFG_BOOL:
		buf_puts(b, *(const bool *)f ? "true" : "false");
		break;
	case CFG_DURATION:
		buf_puts(b, duration_format(*(const int64_t *)f, tmp));
		break;
	case CFG_BYTES:
		buf_puts(b, cfg_bytes_format(*(const int64_t *)f, tmp, sizeof tmp));
		break;
	case CFG_ENUM_STR:
		buf_puts(b, *(char *const *)f ? *(char *const *)f : "");
		break;
	case CFG_STR: {
		const char *s = *(char *const *)f ? *(char *const *)f : "";
		char *masked = k->off == offsetof(struct cfg, database_url) ? cfg_mask_conninfo(s) : NULL;
		put_quoted(b, masked ? masked : s);
		free(masked);
		break;
	}
	case CFG_LIST: {
		char *const *items = *(char **const *)f;
		if (!items || !*items)
			buf_puts(b, "[]");
		for (; items && *items; items++) {
			buf_printf(b, "\n%*s- ", 2 * (depth + 1), "");
			put_quoted(b, *items);
		}
		break;
	}
	case CFG_HOSTS: {
		const struct cfg_host *h = *(struct cfg_host *const *)f;
		if (!h || !h->host)
			buf_puts(b, "{}");
		for (; h && h->host; h++) {
			buf_printf(b, "\n%*s", 2 * (depth + 1), "");
			put_quoted(b, h->host);
			buf_puts(b, ": {");
			if (h->concurrency > 0)
				buf_printf(b, "concurrency: %d", h->concurrency);
			if (h->delay_ms >= 0)
				buf_printf(b, "%sdelay: %s", h->concurrency > 0 ? ", " : "", duration_format(h->delay_ms, tmp));
			buf_putc(b, '}');
		}
		break;
	}
	case CFG_ENUM_INT: {
		int v = *(const int *)f, n = 0;
		while (k->choices[n])
			n++;
		buf_puts(b, v >= 0 && v < n ? k->choices[v] : "?");
		break;
	}
	}
}

/* Number of dot-separated components of path shared with prev, counting only section components. */
static int shared_sections(const char *path, const char *prev)
{
	int depth = 0;
	for (size_t i = 0; prev && path[i] && path[i] == prev[i]; i++)
		if (path[i] == '.')
			depth++;
	return depth;
}

char *cfg_dump(const struct cfg *c)
{
	struct buf b = BUF_INIT;
	const char *prev = NULL;
	buf_puts(&b, "# pgkb effective configuration (passwords masked)\n");
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const char *path = cfg_keys[i].path, *comp = path;
		int shared = shared_sections(path, prev), depth = 0;
		for (const char *dot; (dot = strchr(comp, '.')); comp = dot + 1, depth++)
			if (depth >= shared)
				buf_printf(&b, "%*s%.*s:\n", 2 * depth, "", (int)(dot - comp), comp);
		const struct cfg_key *k = &cfg_keys[i];
		const void *f = (const char *)c + k->off;
		bool block = (k->type == CFG_LIST && *(char **const *)f && **(char **const *)f) ||
		             (k->type == CFG_HOSTS && *(struct cfg_host *const *)f && (*(struct cfg_host *const *)f)->host);
		buf_printf(&b, "%*s%s:%s", 2 * depth, "", comp, block ? "" : " ");
		put_value(&b, c, k, depth);
		buf_putc(&b, '\n');
		prev = path;
	}
	return buf_steal(&b);
}
