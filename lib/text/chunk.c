/* Markdown chunking: overlap, heading paths and chunk assembly around the split points of chunk_scan.c. */
#include "lib/text/chunk.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/buf.h"
#include "lib/text/chunk_int.h"
#include "lib/util/mem.h"
#include "lib/text/textstats.h"
#include "lib/text/utf8.h"

#define NONE CHUNK_NONE
#define HEADING_TEXT_MAX 200 /* bytes of one heading kept in a heading path */

/* ---- overlap, heading paths, assembly ------------------------------------------------------ */

/* Start of the overlap repeated before S: the last `want` code points of the previous chunk's own text
 * [pS, S), moved forward to a sentence, line or word start, past any fence line (inside a split fence:
 * whole lines of it), so that the overlap never begins with something that reads as a fence. */
static size_t overlap_start(const struct doc *d, size_t pS, size_t S, int sf, size_t want)
{
	const char *s = d->s;
	if (!want || pS == NONE || pS >= S)
		return S;
	size_t ov = S, n = 0;
	while (ov > pS && n < want) {
		ov--;
		n += ((unsigned char)s[ov] & 0xC0) != 0x80;
	}
	if (sf >= 0) {
		const struct mfence *m = &d->fences[sf];
		if (ov < m->body)
			ov = m->body;
		if (ov > m->body && s[ov - 1] != '\n') {
			const char *nl = memchr(s + ov, '\n', S - ov);
			ov = nl ? (size_t)(nl - s) + 1 : S;
		}
		return ov;
	}
	size_t k = chunk_fences_before(d, S);
	if (k > 0 && d->fences[k - 1].end > ov)
		ov = d->fences[k - 1].end;
	if (ov >= S)
		return S;
	if (ov > pS && !textstats_is_space((unsigned char)s[ov - 1]))
		while (ov < S && !textstats_is_space((unsigned char)s[ov]))
			ov++;
	/* the first sentence or line start, else the first word start */
	for (size_t p = ov; p < S; p++) {
		bool line = p > 0 && s[p - 1] == '\n';
		bool sentence = p >= 2 && s[p - 1] == ' ' && s[p - 2] && strchr(".?!", s[p - 2]);
		if ((line || sentence) && !textstats_is_space((unsigned char)s[p]) && chunk_safe_start(d, p))
			return p;
		if (line && !textstats_is_space((unsigned char)s[p]))
			return p; /* a whole line outside fences never reads as one */
	}
	while (ov < S && textstats_is_space((unsigned char)s[ov]))
		ov++;
	return ov < S && chunk_safe_start(d, ov) ? ov : S;
}

/* The headings in force: level 1..6 as pointers into the input. */
struct heads {
	const char *text[7];
	size_t len[7];
};

static void heads_push(struct heads *h, const struct doc *d, const struct mline *l)
{
	const char *s = d->s + l->start;
	size_t a = 0, b = l->end - l->start;
	while (a < b && s[a] == ' ')
		a++;
	while (a < b && s[a] == '#')
		a++;
	while (b > a && textstats_is_space((unsigned char)s[b - 1]))
		b--;
	size_t t = b;
	while (t > a && s[t - 1] == '#')
		t--;
	if (t == a || s[t - 1] == ' ' || s[t - 1] == '\t')
		b = t; /* closing sequence of #s */
	while (a < b && textstats_is_space((unsigned char)s[a]))
		a++;
	while (b > a && textstats_is_space((unsigned char)s[b - 1]))
		b--;
	h->text[l->level] = s + a;
	h->len[l->level] = utf8_floor(s + a, b - a, HEADING_TEXT_MAX);
	for (int k = l->level + 1; k <= 6; k++)
		h->len[k] = 0;
}

static char *heading_path(const struct heads *h, const char *title)
{
	struct buf b = BUF_INIT;
	const char *prev = NULL;
	size_t prevlen = 0;
	if (title && *title) {
		prevlen = utf8_floor(title, strlen(title), HEADING_TEXT_MAX);
		prev = title;
		buf_append(&b, title, prevlen);
	}
	for (int k = 1; k <= 6; k++) {
		if (!h->len[k] || (prev && prevlen == h->len[k] && !memcmp(prev, h->text[k], prevlen)))
			continue;
		if (b.len)
			buf_puts(&b, " > ");
		buf_append(&b, h->text[k], h->len[k]);
		prev = h->text[k];
		prevlen = h->len[k];
	}
	return buf_steal(&b);
}

static void put_fence(struct buf *b, const struct mfence *m)
{
	for (size_t i = 0; i < m->flen; i++)
		buf_putc(b, m->ch);
}

static int clamp_int(size_t v)
{
	return v > INT32_MAX ? INT32_MAX : (int)v;
}

/* Appends the chunk made of [ov, cut) (its own text starting at S); sf: the fence open at S, or -1. */
static void emit(const struct doc *d, const char *path, size_t ov, size_t S, size_t cut, int sf,
                 struct chunk_list *out)
{
	struct buf b = BUF_INIT;
	int ef = chunk_fence_at(d, cut);
	if (sf >= 0) {
		put_fence(&b, &d->fences[sf]);
		buf_puts(&b, d->fences[sf].lang);
		buf_putc(&b, '\n');
	}
	buf_append(&b, d->s + ov, cut - ov);
	while (b.len && textstats_is_space((unsigned char)b.data[b.len - 1]))
		b.len--;
	if (ef >= 0) {
		buf_putc(&b, '\n');
		put_fence(&b, &d->fences[ef]);
	}
	buf_putc(&b, '\0'); /* re-terminates after the trim */
	b.len--;
	if (!b.len) {
		buf_free(&b);
		return;
	}
	if (out->n == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 16;
		out->items = xrealloc(out->items, out->cap * sizeof(*out->items));
	}
	struct chunk *c = &out->items[out->n++];
	c->offset = S;
	c->end = cut;
	c->chars = clamp_int(textstats_chars(b.data, b.len));
	c->words = clamp_int(textstats_words(b.data, b.len));
	c->has_code = sf >= 0 || ef >= 0 || chunk_fences_before(d, cut) > chunk_fences_before(d, ov);
	hash_sha256_hex(b.data, b.len, c->hash);
	c->content = buf_steal(&b);
	c->heading_path = xstrdup(path);
}

/* Where the next chunk's own text starts after a cut: inside a fence at once; else past blanks, keeping
 * the indentation of a line (so that an indented line never turns into a fence). */
static size_t next_start(const struct doc *d, size_t cut)
{
	const char *s = d->s;
	if (chunk_fence_at(d, cut) >= 0)
		return cut;
	bool at_line = cut == 0 || s[cut - 1] == '\n';
	for (size_t p = cut;;) {
		size_t q = p;
		while (q < d->len && s[q] != '\n' && textstats_is_space((unsigned char)s[q]))
			q++;
		if (q >= d->len)
			return d->len;
		if (s[q] == '\n') { /* the rest of this line is blank */
			p = q + 1;
			at_line = true;
			continue;
		}
		if (at_line)
			return p;
		while (s[p] == ' ' || s[p] == '\t') /* as the cut rules of chunk_scan.c assume */
			p++;
		return p;
	}
}

static bool starts_heading(const struct doc *d, const struct mline *l, size_t S)
{
	if (l->kind != K_HEADING)
		return false;
	for (size_t p = l->start; p < S; p++)
		if (d->s[p] != ' ')
			return false;
	return true;
}

int chunk_text(const char *md, size_t len, const struct chunk_opts *opts, struct chunk_list *out)
{
	struct chunk_opts o = {CHUNK_DEFAULT_SIZE, CHUNK_DEFAULT_OVERLAP, NULL};
	if (opts)
		o = *opts;
	if (o.size < CHUNK_MIN_SIZE || o.overlap < 0 || o.overlap > o.size / 2)
		return -1;
	struct doc d = {.s = md, .len = len, .size = (size_t)o.size};
	chunk_doc_build(&d);
	struct heads hs = {{NULL}, {0}};
	size_t S = next_start(&d, 0), pS = NONE, li = 0, hcur = 0;
	int added = 0;
	while (S < len) {
		li = chunk_line_at(&d, S, li);
		for (; hcur < d.nlines && d.lines[hcur].start <= S; hcur++)
			if (d.lines[hcur].kind == K_HEADING)
				heads_push(&hs, &d, &d.lines[hcur]);
		int sf = chunk_fence_at(&d, S);
		size_t reopen = sf >= 0 ? d.fences[sf].flen + strlen(d.fences[sf].lang) + 1 : 0;
		size_t ov = sf < 0 && starts_heading(&d, &d.lines[li], S)
		                    ? S
		                    : overlap_start(&d, pS, S, sf, (size_t)o.overlap);
		size_t cut = chunk_find_cut(&d, S, li, reopen, &ov);
		char *path = heading_path(&hs, o.title);
		size_t before = out->n;
		emit(&d, path, ov, S, cut, sf, out);
		added += out->n > before;
		free(path);
		pS = S;
		S = next_start(&d, cut);
	}
	chunk_doc_free(&d);
	return added;
}

void chunk_list_free(struct chunk_list *list)
{
	for (size_t i = 0; i < list->n; i++) {
		free(list->items[i].content);
		free(list->items[i].heading_path);
	}
	free(list->items);
	list->items = NULL;
	list->n = list->cap = 0;
}
