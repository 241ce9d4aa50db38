/* Glob matching for crawl include/exclude patterns: a position-set automaton, never exponential. */
#include "lib/crawl/urlglob.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util/mem.h"

enum tok_kind { TOK_LIT, TOK_ONE, TOK_STAR, TOK_STARSTAR };

struct tok {
	enum tok_kind kind;
	char c;
};

/* Splits pattern into tokens; returns their number. toks must hold strlen(pattern) entries. */
static size_t tokenize(const char *p, struct tok *toks)
{
	size_t n = 0;
	while (*p) {
		if (*p == '*') {
			bool dbl = p[1] == '*';
			p += dbl ? 2 : 1;
			enum tok_kind k = dbl ? TOK_STARSTAR : TOK_STAR;
			/* Adjacent stars collapse; "**" absorbs "*". */
			if (n && (toks[n - 1].kind == TOK_STAR || toks[n - 1].kind == TOK_STARSTAR)) {
				if (k == TOK_STARSTAR)
					toks[n - 1].kind = TOK_STARSTAR;
				continue;
			}
			toks[n++] = (struct tok){k, 0};
		} else if (*p == '?') {
			toks[n++] = (struct tok){TOK_ONE, 0};
			p++;
		} else {
			if (*p == '\\' && p[1])
				p++;
			toks[n++] = (struct tok){TOK_LIT, *p++};
		}
	}
	return n;
}

/* Adds to set every state reachable from the active ones through stars matching the empty string. */
static void close_empty(const struct tok *toks, size_t n, unsigned char *set)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] && (toks[i].kind == TOK_STAR || toks[i].kind == TOK_STARSTAR))
			set[i + 1] = 1;
}

/* One input character: moves every active state of cur into next; returns whether any state stays active. */
static bool step(const struct tok *toks, size_t n, const unsigned char *cur, unsigned char *next, char c)
{
	bool any = false;
	memset(next, 0, n + 1);
	for (size_t i = 0; i < n; i++) {
		if (!cur[i])
			continue;
		switch (toks[i].kind) {
		case TOK_LIT:
			if (toks[i].c == c)
				next[i + 1] = 1, any = true;
			break;
		case TOK_ONE:
			if (c != '/')
				next[i + 1] = 1, any = true;
			break;
		case TOK_STAR:
			if (c != '/')
				next[i] = 1, any = true;
			break;
		case TOK_STARSTAR:
			next[i] = 1, any = true;
			break;
		}
	}
	close_empty(toks, n, next);
	return any;
}

bool glob_match(const char *pattern, const char *s)
{
	if (!pattern || !s)
		return false;
	size_t plen = strlen(pattern);
	struct tok *toks = xmalloc((plen + 1) * sizeof *toks);
	size_t n = tokenize(pattern, toks);
	unsigned char *cur = xcalloc(n + 1, 1), *next = xcalloc(n + 1, 1);
	cur[0] = 1;
	close_empty(toks, n, cur);
	bool alive = true;
	for (const char *p = s; *p && alive; p++) {
		alive = step(toks, n, cur, next, *p);
		unsigned char *t = cur;
		cur = next;
		next = t;
	}
	bool ok = alive && cur[n];
	free(toks);
	free(cur);
	free(next);
	return ok;
}

/* Matches one pattern against the URL or, for a pattern starting with '/', against its path and query. */
static bool match_url(const char *pattern, const char *url)
{
	if (pattern[0] != '/')
		return glob_match(pattern, url);
	const char *a = strstr(url, "://");
	const char *path = a ? strchr(a + 3, '/') : NULL;
	return glob_match(pattern, path ? path : "/");
}

bool glob_url_allowed(const char *const *include, size_t n_include, const char *const *exclude,
                      size_t n_exclude, const char *url)
{
	if (!url)
		return false;
	bool included = n_include == 0;
	for (size_t i = 0; i < n_include && !included; i++)
		included = include[i] && match_url(include[i], url);
	if (!included)
		return false;
	for (size_t i = 0; i < n_exclude; i++)
		if (exclude[i] && match_url(exclude[i], url))
			return false;
	return true;
}
