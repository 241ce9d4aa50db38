/* Chunking internals: the Markdown line table, and the best split point within a size budget. */
#include "lib/text/chunk_int.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util/mem.h"
#include "lib/text/textstats.h"

#define NONE CHUNK_NONE

/* ---- line table ---------------------------------------------------------------------------- */

static bool is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!textstats_is_space((unsigned char)s[i]))
			return false;
	return true;
}

/* ATX heading level of the line (1..6), or 0. */
static int heading_level(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && i < 3 && s[i] == ' ')
		i++;
	size_t h = 0;
	while (i + h < n && s[i + h] == '#')
		h++;
	if (h < 1 || h > 6)
		return 0;
	if (i + h < n && s[i + h] != ' ' && s[i + h] != '\t')
		return 0;
	return (int)h;
}

static void add_line(struct doc *d, size_t start, size_t end, enum line_kind kind, int fence)
{
	if (d->nlines == d->lcap) {
		d->lcap = d->lcap ? d->lcap * 2 : 256;
		d->lines = xrealloc(d->lines, d->lcap * sizeof(*d->lines));
	}
	struct mline *l = &d->lines[d->nlines++];
	l->start = start;
	l->end = end;
	l->kind = (unsigned char)kind;
	l->fence = fence;
	l->level = kind == K_HEADING ? (unsigned char)heading_level(d->s + start, end - start) : 0;
	l->cls = -1;
}

static void add_fence(struct doc *d, size_t open, size_t body, const struct codeblock_fence *f)
{
	if (d->nfences == d->fcap) {
		d->fcap = d->fcap ? d->fcap * 2 : 16;
		d->fences = xrealloc(d->fences, d->fcap * sizeof(*d->fences));
	}
	struct mfence *m = &d->fences[d->nfences++];
	m->open = open;
	m->body = body;
	m->close = d->len;
	m->end = d->len;
	m->flen = f->len;
	m->ch = f->ch;
	m->giant = false;
	codeblock_fence_lang(f, m->lang);
}

/* True when line i is a short one-line paragraph not ending a sentence: a label (a definition term, a
 * caption) that belongs with what follows it. */
static bool is_label(const struct doc *d, size_t i)
{
	const struct mline *l = &d->lines[i];
	if (l->kind != K_TEXT || l->end - l->start > 80 || (i && d->lines[i - 1].kind == K_TEXT))
		return false;
	char last = d->s[l->end - 1];
	return !strchr(".!?:;", last);
}

/* Split class of a cut at the start of line i. */
static int line_class(const struct doc *d, size_t i, int last_nonblank_kind, bool after_label)
{
	const struct mline *l = &d->lines[i];
	const struct mline *prev = i ? &d->lines[i - 1] : NULL;
	if (!prev)
		return -1;
	if (l->kind == K_OPEN || prev->kind == K_CLOSE)
		return C_FENCE;
	if (l->kind == K_BODY)
		return d->fences[l->fence].giant && l->start > d->fences[l->fence].body ? C_LINE : -1;
	if (l->kind == K_BLANK || l->kind == K_CLOSE || last_nonblank_kind == K_HEADING)
		return -1;
	if (l->kind == K_HEADING)
		return C_HEADING;
	return prev->kind == K_BLANK && !after_label ? C_PARA : C_LINE;
}

void chunk_doc_free(struct doc *d)
{
	free(d->lines);
	free(d->fences);
	d->lines = NULL;
	d->fences = NULL;
	d->nlines = d->nfences = d->lcap = d->fcap = 0;
}

void chunk_doc_build(struct doc *d)
{
	struct codeblock_fence open;
	int infence = -1;
	for (size_t pos = 0; pos < d->len;) {
		const char *nl = memchr(d->s + pos, '\n', d->len - pos);
		size_t end = nl ? (size_t)(nl - d->s) : d->len;
		const char *ln = d->s + pos;
		if (infence >= 0) {
			if (codeblock_fence_close(ln, end - pos, &open)) {
				d->fences[infence].close = pos;
				d->fences[infence].end = nl ? end + 1 : d->len;
				add_line(d, pos, end, K_CLOSE, infence);
				infence = -1;
			} else {
				add_line(d, pos, end, K_BODY, infence);
			}
		} else if (codeblock_fence_open(ln, end - pos, &open)) {
			infence = (int)d->nfences;
			add_fence(d, pos, nl ? end + 1 : d->len, &open);
			add_line(d, pos, end, K_OPEN, infence);
		} else if (is_blank(ln, end - pos)) {
			add_line(d, pos, end, K_BLANK, -1);
		} else {
			add_line(d, pos, end, heading_level(ln, end - pos) ? K_HEADING : K_TEXT, -1);
		}
		pos = nl ? end + 1 : d->len;
	}
	for (size_t f = 0; f < d->nfences; f++) {
		struct mfence *m = &d->fences[f];
		/* what a chunk holding just this block costs: through the closing line and its newline,
		 * or for an unclosed block with the closing fence a chunk adds */
		bool closed = m->close < d->len;
		size_t chars = textstats_chars(d->s + m->open, m->end - m->open) + (closed ? 0 : 1 + m->flen);
		m->giant = chars > d->size;
	}
	int last_nonblank = K_BLANK;
	bool label = false;
	for (size_t i = 0; i < d->nlines; i++) {
		d->lines[i].cls = (signed char)line_class(d, i, last_nonblank, label);
		if (d->lines[i].kind != K_BLANK) {
			last_nonblank = d->lines[i].kind;
			label = is_label(d, i);
		}
	}
}

size_t chunk_line_at(const struct doc *d, size_t pos, size_t hint)
{
	size_t i = hint < d->nlines ? hint : 0;
	if (d->lines[i].start > pos)
		i = 0;
	while (i + 1 < d->nlines && d->lines[i + 1].start <= pos)
		i++;
	return i;
}

int chunk_fence_at(const struct doc *d, size_t pos)
{
	size_t lo = 0, hi = d->nfences;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (d->fences[mid].body <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -1;
	const struct mfence *m = &d->fences[lo - 1];
	return pos <= m->close ? (int)(lo - 1) : -1;
}

size_t chunk_fences_before(const struct doc *d, size_t pos)
{
	size_t lo = 0, hi = d->nfences;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (d->fences[mid].open < pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ---- choosing a split point ---------------------------------------------------------------- */

struct pick {
	size_t at[2][C_NCLASS]; /* last cut of each class below [0] and above [1] the minimum fill */
	size_t hard;            /* last cut at any permitted code point boundary */
	bool eof;               /* everything up to the end of the input fits */
};

/* Whether the text of a chunk's line so far would read as a fence line: an opening one outside fences,
 * the closing one of fence m inside it. Fed byte by byte; once dead it stays dead. */
enum { F_LEAD, F_RUN, F_REST, F_DEAD };

struct fstate {
	int phase;
	size_t spaces, run;
	char ch;
};

static void fence_feed(struct fstate *st, char c, const struct mfence *m)
{
	switch (st->phase) {
	case F_LEAD:
		if (c == ' ' && st->spaces < 3) {
			st->spaces++;
		} else if (m ? c == m->ch : (c == '`' || c == '~')) {
			st->ch = c;
			st->run = 1;
			st->phase = F_RUN;
		} else {
			st->phase = F_DEAD;
		}
		return;
	case F_RUN:
		if (c == st->ch) {
			st->run++;
			return;
		}
		st->phase = F_REST;
		/* fall through */
	case F_REST:
		if (m ? !textstats_is_space((unsigned char)c) : (st->ch == '`' && c == '`'))
			st->phase = F_DEAD;
		return;
	default: return;
	}
}

static bool fence_like(const struct fstate *st, const struct mfence *m)
{
	return (st->phase == F_RUN || st->phase == F_REST) && st->run >= (m ? m->flen : 3);
}

bool chunk_safe_start(const struct doc *d, size_t pos)
{
	while (pos < d->len && (d->s[pos] == ' ' || d->s[pos] == '\t'))
		pos++;
	const char *s = d->s;
	return pos + 2 >= d->len || (s[pos] != '`' && s[pos] != '~') || s[pos + 1] != s[pos] ||
	       s[pos + 2] != s[pos];
}

/* A cut inside line l, with the first non-blank after it at nb, leaves a line that reads as a fence neither
 * before the cut (st) nor after it (no run of three fence characters at nb). */
static bool cut_ok(const struct doc *d, const struct mline *l, const struct mfence *m,
                   const struct fstate *st, size_t nb)
{
	if (st->phase != F_DEAD && fence_like(st, m))
		return false;
	const char *s = d->s;
	char c = nb < l->end ? s[nb] : 0;
	bool run = nb + 2 < l->end && s[nb + 1] == c && s[nb + 2] == c;
	return !run || (m ? c != m->ch : (c != '`' && c != '~'));
}

static size_t skip_blanks(const char *s, size_t q, size_t end)
{
	while (q < end && (s[q] == ' ' || s[q] == '\t'))
		q++;
	return q;
}

static size_t seq_len(unsigned char c)
{
	return c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

static bool cjk_stop(const char *s, size_t n, size_t q)
{
	const unsigned char *p = (const unsigned char *)s + q;
	if (q + 3 > n)
		return false;
	return (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x82) ||                  /* 。 */
	       (p[0] == 0xEF && p[1] == 0xBC && (p[2] == 0x81 || p[2] == 0x9F)); /* ！？ */
}

struct budget {
	size_t max;     /* code points the chunk's own text may take */
	size_t min;     /* cuts below this many are a last resort */
	size_t reserve; /* code points for a synthesized closing fence after a cut in this line */
};

/* Candidates inside line l from p (the chunk's text in this line starts at first <= p), given *c code points
 * before p. Returns false once over budget. */
static bool scan_line(const struct doc *d, const struct mline *l, size_t first, size_t p, size_t *c,
                      const struct budget *b, bool cuttable, struct pick *pk)
{
	const char *s = d->s;
	const struct mfence *m = l->kind == K_BODY ? &d->fences[l->fence] : NULL;
	struct fstate st = {F_LEAD, 0, 0, 0};
	for (size_t k = first; k < p && st.phase != F_DEAD; k++)
		fence_feed(&st, s[k], m);
	size_t q = p, run_end = 0; /* [.., run_end): a blank run too long for the budget, taken one by one */
	while (q < l->end) {
		if (*c + b->reserve > b->max)
			return false;
		size_t r = q;
		if (q >= run_end) {
			r = skip_blanks(s, q, l->end);
			if (r > q && *c + (r - q) + b->reserve <= b->max) { /* a blank run that fits */
				for (size_t k = q; k < r && st.phase != F_DEAD; k++)
					fence_feed(&st, s[k], m);
				*c += r - q;
				if (cuttable && r < l->end && cut_ok(d, l, m, &st, r)) {
					char before = q > l->start ? s[q - 1] : 0;
					bool sentence = (before == '.' || before == '?' || before == '!') &&
					                q > l->start + 3 && l->kind == K_TEXT;
					pk->at[*c >= b->min][sentence ? C_SENTENCE : C_WORD] = r;
					pk->hard = r;
				}
				q = r;
				continue;
			}
			run_end = r;
		}
		bool stop = cjk_stop(s, l->end, q);
		r = q + seq_len((unsigned char)s[q]);
		if (r > l->end)
			r = l->end;
		for (; q < r; q++)
			if (st.phase != F_DEAD)
				fence_feed(&st, s[q], m);
		(*c)++;
		if (!cuttable || *c + b->reserve > b->max)
			continue;
		if (!cut_ok(d, l, m, &st, q < run_end ? run_end : skip_blanks(s, q, l->end)))
			continue;
		if (stop && q < l->end && l->kind == K_TEXT)
			pk->at[*c >= b->min][C_SENTENCE] = q;
		if (q < l->end || l->kind != K_BODY)
			pk->hard = q;
	}
	return *c + b->reserve <= b->max;
}

/* Collects the permitted cuts after S within max code points (line li holds S; the chunk's text in that
 * line starts at first). */
static void scan(const struct doc *d, size_t S, size_t first, size_t li, size_t max, struct pick *pk)
{
	struct budget b = {max, max * 2 / 5, 0};
	size_t c = 0;
	for (int z = 0; z < 2; z++)
		for (int k = 0; k < C_NCLASS; k++)
			pk->at[z][k] = NONE;
	pk->hard = NONE;
	pk->eof = false;
	for (size_t i = li; i < d->nlines; i++) {
		const struct mline *l = &d->lines[i];
		size_t p = l->start > S ? l->start : S;
		const struct mfence *f = l->fence >= 0 ? &d->fences[l->fence] : NULL;
		b.reserve = l->kind == K_BODY ? f->flen + 1 : 0;
		if (c + b.reserve > b.max)
			return;
		if (p == l->start && p > S && l->cls >= 0) {
			pk->at[c >= b.min][l->cls] = p;
			pk->hard = p;
		}
		bool cuttable = l->kind == K_TEXT || l->kind == K_HEADING || l->kind == K_BLANK ||
		                (l->kind == K_BODY && f->giant);
		if (l->kind == K_BODY && p == f->body)
			cuttable = cuttable && l->end > p; /* never leave an empty block behind */
		if (!scan_line(d, l, i == li && first < p ? first : p, p, &c, &b, cuttable, pk))
			return;
		if (l->end < d->len)
			c++;
	}
	int f = chunk_fence_at(d, d->len);
	if (c + (f >= 0 ? d->fences[f].flen + 1 : 0) <= b.max)
		pk->eof = true;
}

static size_t choose(const struct pick *pk, size_t len)
{
	if (pk->eof)
		return len;
	for (int z = 1; z >= 0; z--)
		for (int k = 0; k < C_NCLASS; k++)
			if (pk->at[z][k] != NONE)
				return pk->at[z][k];
	return pk->hard;
}

/* Last resort when no cut fits the budget: the start of the next line (past a closing fence line). */
static size_t fallback_cut(const struct doc *d, size_t li)
{
	if (li + 1 >= d->nlines)
		return d->len;
	if (d->lines[li + 1].kind == K_CLOSE)
		return li + 2 < d->nlines ? d->lines[li + 2].start : d->len;
	return d->lines[li + 1].start;
}

size_t chunk_find_cut(const struct doc *d, size_t S, size_t li, size_t reopen, size_t *ov)
{
	struct pick pk;
	size_t size = d->size, ovc = textstats_chars(d->s + *ov, S - *ov);
	size_t first = *ov > d->lines[li].start ? *ov : d->lines[li].start;
	scan(d, S, first < S ? first : S, li, size > reopen + ovc ? size - reopen - ovc : 1, &pk);
	size_t cut = choose(&pk, d->len);
	if (cut == NONE && *ov < S) {
		*ov = S;
		scan(d, S, S, li, size > reopen ? size - reopen : 1, &pk);
		cut = choose(&pk, d->len);
	}
	if (cut == NONE || cut <= S)
		cut = fallback_cut(d, li);
	return cut;
}
