/* The YAML side of the configuration: walks libyaml events and applies nested mappings to the key table. */
#include "lib/cfg/cfg_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "lib/util/buf.h"
#include "lib/util/mem.h"

struct seen_path {
	char *path;
	int line;
};

/* One walk over one document. */
struct walk {
	struct cfg_loader *ld;
	yaml_parser_t parser;
	const char *text; /* the document, for lines of encoding errors (libyaml gives only their offset) */
	size_t len;
	struct seen_path *seen; /* known keys and sections met so far, for duplicate detection */
	size_t nseen, capseen;
};

static int walk_mapping(struct walk *w, const char *prefix);

__attribute__((format(printf, 3, 4))) static int werr(struct walk *w, int line, const char *fmt, ...)
{
	va_list ap;
	struct buf b = BUF_INIT;
	char *msg;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (w->ld->file)
		buf_printf(&b, "%s:%d: %s", w->ld->file, line, msg);
	else
		buf_puts(&b, msg); /* a value from the environment: no file, no line */
	free(msg);
	free(w->ld->err);
	w->ld->err = buf_steal(&b);
	return -1;
}

/* Next event; a syntax error or an alias becomes the walk's error (and nothing is left to delete). */
static int next_event(struct walk *w, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&w->parser, ev)) {
		const yaml_parser_t *p = &w->parser;
		const char *problem = p->problem ? p->problem : "unknown problem";
		int line = (int)p->problem_mark.line + 1;
		if (p->error == YAML_READER_ERROR) {
			line = 1;
			for (size_t i = 0; i < p->problem_offset && i < w->len; i++)
				line += w->text[i] == '\n';
		}
		if (p->context && strcmp(p->context, "while scanning an alias") == 0)
			return werr(w, line, "invalid YAML: %s (%s); quote a value that starts with '*', such as "
			                     "\"*.example.com\"", problem, p->context);
		if (p->context)
			return werr(w, line, "invalid YAML: %s (%s)", problem, p->context);
		return werr(w, line, "invalid YAML: %s", problem);
	}
	if (ev->type == YAML_ALIAS_EVENT) {
		int line = (int)ev->start_mark.line + 1;
		yaml_event_delete(ev);
		return werr(w, line, "YAML aliases (*name) are not supported");
	}
	return 0;
}

static int event_line(const yaml_event_t *ev)
{
	return (int)ev->start_mark.line + 1;
}

static bool scalar_is_null(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static bool scalar_has_nul(const yaml_event_t *ev)
{
	return strlen((const char *)ev->data.scalar.value) != ev->data.scalar.length;
}

/* "a mapping", "a list" or the quoted scalar: what was found where something else was expected. */
static char *event_got(const yaml_event_t *ev)
{
	if (ev->type == YAML_MAPPING_START_EVENT)
		return xstrdup("a mapping");
	if (ev->type == YAML_SEQUENCE_START_EVENT)
		return xstrdup("a list");
	if (ev->type == YAML_SCALAR_EVENT)
		return cfg_quote((const char *)ev->data.scalar.value);
	return xstrdup("nothing");
}

/* Error "PATH: expected WHAT, got GOT" for ev, which it deletes. */
static int wrong_kind(struct walk *w, int line, const char *path, const char *what, yaml_event_t *ev)
{
	char *got = event_got(ev);
	yaml_event_delete(ev);
	werr(w, line, "%s: expected %s, got %s", path, what, got);
	free(got);
	return -1;
}

static int apply_scalar(struct walk *w, const struct cfg_key *k, int line)
{
	yaml_event_t ev;
	char *why = NULL;
	if (next_event(w, &ev) != 0)
		return -1;
	if (ev.type != YAML_SCALAR_EVENT) {
		char *what = cfg_key_expected(k);
		int rc = wrong_kind(w, line, k->path, what, &ev);
		free(what);
		return rc;
	}
	if (scalar_has_nul(&ev)) {
		yaml_event_delete(&ev);
		return werr(w, line, "%s: the value contains a NUL character", k->path);
	}
	const char *v = k->type == CFG_STR && scalar_is_null(&ev) ? "" : (const char *)ev.data.scalar.value;
	int rc = cfg_key_set(w->ld->cfg, k, v, &why);
	yaml_event_delete(&ev);
	if (rc != 0) {
		werr(w, line, "%s: %s", k->path, why);
		free(why);
	}
	return rc;
}

/* After SEQUENCE_START: the items, each a scalar that passes the key's check. */
static int apply_list_items(struct walk *w, const struct cfg_key *k)
{
	size_t n = 0, cap = 4;
	char **items = xcalloc(cap, sizeof *items);
	for (;;) {
		yaml_event_t ev;
		char *why = NULL, *path = NULL;
		if (next_event(w, &ev) != 0)
			break;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			cfg_list_replace(w->ld->cfg, k, items);
			return 0;
		}
		int line = event_line(&ev);
		path = xasprintf("%s[%zu]", k->path, n);
		if (ev.type != YAML_SCALAR_EVENT) {
			wrong_kind(w, line, path, "a string", &ev);
		} else if (scalar_has_nul(&ev)) {
			yaml_event_delete(&ev);
			werr(w, line, "%s: the value contains a NUL character", path);
		} else if (cfg_list_item_check(k, (const char *)ev.data.scalar.value, &why) != 0) {
			yaml_event_delete(&ev);
			werr(w, line, "%s: %s", path, why);
			free(why);
		} else {
			if (n + 2 > cap)
				items = xrealloc(items, (cap *= 2) * sizeof *items);
			items[n++] = xstrdup((const char *)ev.data.scalar.value);
			items[n] = NULL;
			yaml_event_delete(&ev);
			free(path);
			continue;
		}
		free(path);
		break;
	}
	for (size_t i = 0; i < n; i++)
		free(items[i]);
	free(items);
	return -1;
}

static int apply_list(struct walk *w, const struct cfg_key *k, int line)
{
	yaml_event_t ev;
	if (next_event(w, &ev) != 0)
		return -1;
	if (ev.type == YAML_SEQUENCE_START_EVENT) {
		yaml_event_delete(&ev);
		return apply_list_items(w, k);
	}
	if (ev.type == YAML_SCALAR_EVENT && scalar_is_null(&ev)) {
		yaml_event_delete(&ev);
		cfg_list_replace(w->ld->cfg, k, xcalloc(1, sizeof(char *)));
		return 0;
	}
	char *what = cfg_key_expected(k);
	int rc = wrong_kind(w, line, k->path, what, &ev);
	free(what);
	return rc;
}

/* ---- crawl.hosts: a mapping of host patterns to {concurrency, delay} ---- */

/* The crawl.hosts entries read so far. */
struct host_list {
	struct cfg_host *v; /* n entries, room for the terminating one */
	int *lines;         /* where each was set, for duplicates */
	size_t n, cap;
};

static void host_list_free(struct host_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].host);
	free(l->v);
	free(l->lines);
}

/* One field of an entry ("concurrency" or "delay") at path, parsed as the global key it overrides. */
static int apply_host_field(struct walk *w, const char *path, const char *name, int line, struct cfg_host *e,
                            unsigned *seen)
{
	const bool conc = strcmp(name, "concurrency") == 0;
	const struct cfg_key *g = cfg_key_find(conc ? "crawl.host_concurrency" : "crawl.host_delay");
	if (!conc && strcmp(name, "delay") != 0) {
		char *q = cfg_quote(name);
		werr(w, line, "%s: unknown key %s (expected concurrency or delay)", path, q);
		free(q);
		return -1;
	}
	char *fpath = xasprintf("%s.%s", path, name), *why = NULL;
	yaml_event_t ev;
	int64_t v = 0;
	int rc = -1;
	if (*seen & (conc ? 1u : 2u)) {
		werr(w, line, "%s: duplicate key", fpath);
	} else if (next_event(w, &ev) != 0) {
		/* the error is set */
	} else if (ev.type != YAML_SCALAR_EVENT) {
		char *what = cfg_key_expected(g);
		wrong_kind(w, line, fpath, what, &ev);
		free(what);
	} else if (scalar_has_nul(&ev)) {
		yaml_event_delete(&ev);
		werr(w, line, "%s: the value contains a NUL character", fpath);
	} else {
		rc = cfg_key_parse_number(g, (const char *)ev.data.scalar.value, &v, &why);
		yaml_event_delete(&ev);
		if (rc != 0) {
			werr(w, line, "%s: %s", fpath, why);
			free(why);
		} else if (conc) {
			e->concurrency = (int)v;
		} else {
			e->delay_ms = v;
		}
		*seen |= conc ? 1u : 2u;
	}
	free(fpath);
	return rc;
}

/* The value of one entry at path: a mapping of fields, or nothing (every field inherited). */
static int apply_host_fields(struct walk *w, const char *path, int line, struct cfg_host *e)
{
	yaml_event_t ev;
	unsigned seen = 0;
	if (next_event(w, &ev) != 0)
		return -1;
	if (ev.type == YAML_SCALAR_EVENT && scalar_is_null(&ev)) {
		yaml_event_delete(&ev);
		return 0;
	}
	if (ev.type != YAML_MAPPING_START_EVENT)
		return wrong_kind(w, line, path, "a mapping with concurrency and/or delay", &ev);
	yaml_event_delete(&ev);
	for (;;) {
		if (next_event(w, &ev) != 0)
			return -1;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		int fline = event_line(&ev);
		if (ev.type != YAML_SCALAR_EVENT || scalar_has_nul(&ev)) {
			yaml_event_delete(&ev);
			return werr(w, fline, "a key (in %s) must be a plain name", path);
		}
		char *name = xstrdup((const char *)ev.data.scalar.value);
		yaml_event_delete(&ev);
		int rc = apply_host_field(w, path, name, fline, e, &seen);
		free(name);
		if (rc != 0)
			return -1;
	}
}

/* One entry: the host pattern (the key event ev, which it deletes), then its fields; appended to l. */
static int apply_host_entry(struct walk *w, const struct cfg_key *k, yaml_event_t *ev, struct host_list *l)
{
	int line = event_line(ev);
	if (ev->type != YAML_SCALAR_EVENT || scalar_has_nul(ev)) {
		yaml_event_delete(ev);
		return werr(w, line, "a key (in %s) must be a host name", k->path);
	}
	char *q = cfg_quote((const char *)ev->data.scalar.value), *canon = NULL;
	char *path = xasprintf("%s.%s", k->path, q);
	const char *what = cfg_host_pattern((const char *)ev->data.scalar.value, &canon);
	yaml_event_delete(ev);
	free(q);
	int rc = -1;
	size_t dup = 0;
	while (canon && dup < l->n && strcmp(l->v[dup].host, canon) != 0)
		dup++;
	if (what) {
		werr(w, line, "%s: expected %s", path, what);
	} else if (dup < l->n) {
		if (w->ld->file)
			werr(w, line, "%s: duplicate host (first on line %d)", path, l->lines[dup]);
		else
			werr(w, line, "%s: duplicate host", path);
	} else {
		struct cfg_host e = {.host = canon, .concurrency = 0, .delay_ms = -1};
		canon = NULL;
		if (l->n + 1 >= l->cap) {
			l->cap = l->cap ? 2 * l->cap : 4;
			l->v = xrealloc(l->v, l->cap * sizeof *l->v);
			l->lines = xrealloc(l->lines, l->cap * sizeof *l->lines);
		}
		l->lines[l->n] = line;
		l->v[l->n++] = e; /* before its fields: freed with the list if they fail */
		rc = apply_host_fields(w, path, line, &l->v[l->n - 1]);
	}
	free(canon);
	free(path);
	return rc;
}

/* The value of the CFG_HOSTS key k: a mapping of host patterns, or nothing (no overrides). */
static int apply_hosts(struct walk *w, const struct cfg_key *k, int line)
{
	yaml_event_t ev;
	struct host_list l = {0};
	if (next_event(w, &ev) != 0)
		return -1;
	if (ev.type == YAML_SCALAR_EVENT && scalar_is_null(&ev)) {
		yaml_event_delete(&ev);
		cfg_hosts_replace(w->ld->cfg, k, xcalloc(1, sizeof(struct cfg_host)));
		return 0;
	}
	if (ev.type != YAML_MAPPING_START_EVENT) {
		char *what = cfg_key_expected(k);
		int rc = wrong_kind(w, line, k->path, what, &ev);
		free(what);
		return rc;
	}
	yaml_event_delete(&ev);
	for (;;) {
		if (next_event(w, &ev) != 0)
			break;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			l.v = xrealloc(l.v, (l.n + 1) * sizeof *l.v);
			memset(&l.v[l.n], 0, sizeof l.v[l.n]);
			cfg_hosts_replace(w->ld->cfg, k, l.v);
			free(l.lines);
			return 0;
		}
		if (apply_host_entry(w, k, &ev, &l) != 0)
			break;
	}
	host_list_free(&l);
	return -1;
}

/* The value of a section key: a mapping, or nothing at all ("queue:" alone keeps the defaults). */
static int apply_section(struct walk *w, const char *path, int line)
{
	yaml_event_t ev;
	if (next_event(w, &ev) != 0)
		return -1;
	if (ev.type == YAML_MAPPING_START_EVENT) {
		yaml_event_delete(&ev);
		return walk_mapping(w, path);
	}
	if (ev.type == YAML_SCALAR_EVENT && scalar_is_null(&ev)) {
		yaml_event_delete(&ev);
		return 0;
	}
	return wrong_kind(w, line, path, "a mapping", &ev);
}

/* Edit distance between a and b (case-insensitive), for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[65];
	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t sub = diag + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
			size_t best = up + 1 < row[j - 1] + 1 ? up + 1 : row[j - 1] + 1;
			row[j] = sub < best ? sub : best;
			diag = up;
		}
	}
	return row[lb];
}

/* The component of path right after prefix ("queue" for path "queue.lease", prefix ""), copied into out. */
static bool child_name(const char *path, const char *prefix, char *out, size_t outsz)
{
	size_t n = strlen(prefix);
	if (n && (strncmp(path, prefix, n) != 0 || path[n] != '.'))
		return false;
	const char *s = path + (n ? n + 1 : 0);
	size_t len = strcspn(s, ".");
	if (len >= outsz)
		return false;
	memcpy(out, s, len);
	out[len] = '\0';
	return true;
}

/* Appends "; did you mean …?" to b: a close sibling of name, else keys elsewhere with that exact name. */
static void suggest(struct buf *b, const char *prefix, const char *name)
{
	char cand[128], best[128] = "";
	size_t best_d = SIZE_MAX;
	for (size_t i = 0; i < cfg_nkeys; i++) {
		if (!child_name(cfg_keys[i].path, prefix, cand, sizeof cand))
			continue;
		size_t d = edit_distance(name, cand), longest = strlen(cand) > strlen(name) ? strlen(cand) : strlen(name);
		if (d < best_d && d * 3 <= longest) {
			best_d = d;
			snprintf(best, sizeof best, "%s", cand);
		}
	}
	if (*best) {
		buf_printf(b, "; did you mean \"%s\"?", best);
		return;
	}
	/* The same name elsewhere: "batch_size" at the top level → "queue.batch_size" or "embed.batch_size". */
	char found[3][128];
	size_t nfound = 0;
	for (size_t i = 0; i < cfg_nkeys && nfound < 3; i++) {
		const char *path = cfg_keys[i].path;
		for (const char *c = path; *c; c += strcspn(c, ".") + (c[strcspn(c, ".")] == '.')) {
			size_t n = strcspn(c, ".");
			if (strlen(name) != n || strncasecmp(c, name, n) != 0 || (size_t)(c - path) + n >= sizeof found[0])
				continue;
			snprintf(cand, sizeof cand, "%.*s", (int)(c - path + (ptrdiff_t)n), path);
			size_t j = 0;
			while (j < nfound && strcmp(found[j], cand) != 0)
				j++;
			if (j == nfound && nfound < 3)
				memcpy(found[nfound++], cand, sizeof cand);
		}
	}
	for (size_t j = 0; j < nfound; j++)
		buf_printf(b, "%s\"%s\"", j ? " or " : "; did you mean ", found[j]);
	if (nfound)
		buf_putc(b, '?');
}

static int unknown_key(struct walk *w, const char *prefix, const char *name, int line)
{
	struct buf b = BUF_INIT;
	char *q = cfg_quote(name);
	buf_printf(&b, "unknown key %s (in %s%s)", q, *prefix ? "" : "the top level", prefix);
	if (strchr(name, '.'))
		buf_puts(&b, "; dotted keys are not supported, nest them instead");
	else
		suggest(&b, prefix, name);
	werr(w, line, "%s", buf_str(&b));
	buf_free(&b);
	free(q);
	return -1;
}

/* Records path as met on line; fails if the file already set it. */
static int mark_seen(struct walk *w, const char *path, int line)
{
	for (size_t i = 0; i < w->nseen; i++)
		if (strcmp(w->seen[i].path, path) == 0)
			return werr(w, line, "duplicate key \"%s\" (first on line %d)", path, w->seen[i].line);
	if (w->nseen == w->capseen) {
		w->capseen = w->capseen ? w->capseen * 2 : 16;
		w->seen = xrealloc(w->seen, w->capseen * sizeof *w->seen);
	}
	w->seen[w->nseen].path = xstrdup(path);
	w->seen[w->nseen++].line = line;
	return 0;
}

static int walk_key(struct walk *w, const char *prefix, const char *name, int line)
{
	char *path = *prefix ? xasprintf("%s.%s", prefix, name) : xstrdup(name);
	const struct cfg_key *k = strchr(name, '.') ? NULL : cfg_key_find(path);
	bool section = !k && !strchr(name, '.') && *name && cfg_key_is_section(path);
	int rc;
	if (!k && !section)
		rc = unknown_key(w, prefix, name, line);
	else if (mark_seen(w, path, line) != 0)
		rc = -1;
	else if (section)
		rc = apply_section(w, path, line);
	else {
		rc = k->type == CFG_LIST    ? apply_list(w, k, line)
		     : k->type == CFG_HOSTS ? apply_hosts(w, k, line)
		                            : apply_scalar(w, k, line);
		w->ld->src[k - cfg_keys].line = line;
	}
	free(path);
	return rc;
}

/* After MAPPING_START at prefix ("" for the top level): each key and its value, up to MAPPING_END. */
static int walk_mapping(struct walk *w, const char *prefix)
{
	for (;;) {
		yaml_event_t ev;
		if (next_event(w, &ev) != 0)
			return -1;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		int line = event_line(&ev);
		if (ev.type != YAML_SCALAR_EVENT) {
			yaml_event_delete(&ev);
			return werr(w, line, "a key (in %s%s) must be a plain name", *prefix ? "" : "the top level", prefix);
		}
		if (scalar_has_nul(&ev)) {
			yaml_event_delete(&ev);
			return werr(w, line, "a key (in %s%s) contains a NUL character", *prefix ? "" : "the top level",
			            prefix);
		}
		char *name = xstrdup((const char *)ev.data.scalar.value);
		yaml_event_delete(&ev);
		int rc = walk_key(w, prefix, name, line);
		free(name);
		if (rc != 0)
			return -1;
	}
}

/* Expects an event of type t (and deletes it). */
static int expect(struct walk *w, yaml_event_type_t t)
{
	yaml_event_t ev;
	if (next_event(w, &ev) != 0)
		return -1;
	bool ok = ev.type == t;
	int line = event_line(&ev);
	yaml_event_delete(&ev);
	return ok ? 0 : werr(w, line, "unexpected YAML structure");
}

/* The document's root: a mapping of sections, or nothing at all (an empty document). */
static int walk_root(struct walk *w)
{
	yaml_event_t ev;
	if (next_event(w, &ev) != 0)
		return -1;
	if (ev.type == YAML_MAPPING_START_EVENT) {
		yaml_event_delete(&ev);
		return walk_mapping(w, "");
	}
	if (ev.type == YAML_SCALAR_EVENT && scalar_is_null(&ev)) {
		yaml_event_delete(&ev);
		return 0;
	}
	return wrong_kind(w, event_line(&ev), "the top level", "a mapping of sections (database:, queue:, ...)", &ev);
}

/* The stream: one document whose root is the configuration, or (hosts not NULL) the value of that key. */
static int walk_stream(struct walk *w, const struct cfg_key *hosts)
{
	yaml_event_t ev;
	if (expect(w, YAML_STREAM_START_EVENT) != 0 || next_event(w, &ev) != 0)
		return -1;
	yaml_event_type_t t = ev.type;
	yaml_event_delete(&ev);
	if (t == YAML_STREAM_END_EVENT) /* an empty file or only comments */
		return 0;
	if ((hosts ? apply_hosts(w, hosts, 1) : walk_root(w)) != 0 || expect(w, YAML_DOCUMENT_END_EVENT) != 0 ||
	    next_event(w, &ev) != 0)
		return -1;
	t = ev.type;
	int line = event_line(&ev);
	yaml_event_delete(&ev);
	return t == YAML_STREAM_END_EVENT ? 0 : werr(w, line, "only one YAML document is allowed");
}

/* Walks text[0..len) into ld (see walk_stream). */
static int walk_text(struct cfg_loader *ld, const char *text, size_t len, const struct cfg_key *hosts)
{
	struct walk w = {.ld = ld, .text = text, .len = len};
	if (!yaml_parser_initialize(&w.parser)) {
		ld->err = xasprintf("%s: cannot initialise the YAML parser", ld->file ? ld->file : "pgkb");
		return -1;
	}
	yaml_parser_set_input_string(&w.parser, (const unsigned char *)text, len);
	int rc = walk_stream(&w, hosts);
	yaml_parser_delete(&w.parser);
	for (size_t i = 0; i < w.nseen; i++)
		free(w.seen[i].path);
	free(w.seen);
	return rc;
}

int cfg_yaml_apply(struct cfg_loader *ld, const char *text, size_t len)
{
	return walk_text(ld, text, len, NULL);
}

int cfg_yaml_hosts(struct cfg *c, const struct cfg_key *k, const char *text, char **why)
{
	struct cfg_loader ld = {.cfg = c, .file = NULL};
	cfg_hosts_replace(c, k, xcalloc(1, sizeof(struct cfg_host))); /* a blank document means none */
	if (walk_text(&ld, text, strlen(text), k) == 0)
		return 0;
	size_t n = strlen(k->path);
	if (ld.err && strncmp(ld.err, k->path, n) == 0 && (ld.err[n] == ':' || ld.err[n] == '.')) {
		*why = ld.err;
	} else {
		*why = xasprintf("%s: %s", k->path, ld.err ? ld.err : "invalid value");
		free(ld.err);
	}
	return -1;
}
