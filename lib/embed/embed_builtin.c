/* Builtin embedder: tokenise, stem, hash features into signed buckets with sublinear tf, L2-normalise. */
#include "lib/embed/embed_builtin.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/embed/embed.h"
#include "lib/util/mem.h"
#include "lib/text/utf8.h"

#define TOKEN_MAX 64      /* bytes kept of one token; the rest of a longer run is ignored */
#define NGRAM_WORD_MAX 32 /* longer words (hex ids, base64) get no character n-grams */

/* Feature classes. Weights are Q10 (1024 = 1.0): words > bigrams > character n-grams. */
enum feat_class { F_WORD, F_BIGRAM, F_CHAR3, F_CHAR4, F_CLASSES };
static const uint32_t class_weight[F_CLASSES] = {1024, 520, 400, 160};
static const uint64_t class_seed[F_CLASSES] = {0x243F6A8885A308D3ULL, 0x13198A2E03707344ULL,
                                               0xA4093822299F31D0ULL, 0x082EFA98EC4E6C89ULL};
#define SEED_EMPTY 0x452821E638D01377ULL

/* English function words that carry no topic; SQL keywords that matter in docs (not, null, all, where...) are
 * deliberately absent. Sorted for bsearch. */
static const char *const stop_words[] = {
	"about", "also", "am", "an", "and", "are", "as", "at", "be", "been", "being", "both", "but", "by", "can",
	"could", "did", "do", "does", "doing", "each", "eg", "etc", "for", "from", "had", "has", "have", "having",
	"he", "her", "here", "hers", "him", "his", "how", "ie", "if", "in", "into", "is", "it", "its", "itself",
	"just", "may", "me", "might", "more", "most", "must", "my", "of", "on", "onto", "or", "other", "our", "ours",
	"ourselves", "own", "shall", "she", "should", "so", "such", "than", "that", "the", "their", "theirs",
	"them", "themselves", "there", "these", "they", "this", "those", "through", "thus", "to", "too", "upon",
	"us", "very", "via", "was", "we", "were", "what", "which", "while", "who", "whom", "whose", "why", "will",
	"with", "would", "you", "your", "yours",
};

/* ---- hashing ---- */

static inline uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Little-endian load, so that the hash is the same on every byte order. */
static inline uint64_t load_le64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t hash_bytes(const unsigned char *p, size_t n, uint64_t seed)
{
	uint64_t h = seed ^ ((uint64_t)n * 0x9E3779B97F4A7C15ULL);
	while (n >= 8) {
		h = rotl64(h ^ mix64(load_le64(p)), 29) * 0xD6E8FEB86659FD93ULL;
		p += 8;
		n -= 8;
	}
	uint64_t t = 0;
	for (size_t i = 0; i < n; i++)
		t |= (uint64_t)p[i] << (8 * i);
	return mix64(h ^ mix64(t + 0x632BE59BD9B4E019ULL));
}

/* ---- feature table: 64-bit feature key -> term frequency ---- */

struct feat {
	uint64_t key; /* 0 = free slot */
	uint32_t tf;
	uint32_t cls;
};

struct embedder {
	struct feat *slot;
	size_t cap, used; /* cap is a power of two, used <= cap / 2 */
	bool keep_stop;   /* second pass for texts made only of stop words */
	bool have_prev;   /* a content word precedes in this sentence: bigrams chain to it */
	uint64_t prev;
};

static void ftab_insert(struct feat *slot, size_t cap, uint64_t key, uint32_t tf, uint32_t cls)
{
	size_t mask = cap - 1, i = (size_t)(key >> 20) & mask;
	while (slot[i].key && slot[i].key != key)
		i = (i + 1) & mask;
	if (!slot[i].key) {
		slot[i].key = key;
		slot[i].cls = cls;
	}
	if (slot[i].tf <= UINT32_MAX - tf)
		slot[i].tf += tf;
}

static void ftab_grow(struct embedder *e)
{
	size_t cap = e->cap * 2;
	struct feat *slot = xcalloc(cap, sizeof(*slot));
	for (size_t i = 0; i < e->cap; i++)
		if (e->slot[i].key)
			ftab_insert(slot, cap, e->slot[i].key, e->slot[i].tf, e->slot[i].cls);
	free(e->slot);
	e->slot = slot;
	e->cap = cap;
}

static void feat_add(struct embedder *e, uint64_t key, enum feat_class cls)
{
	if (!key)
		key = 1;
	if ((e->used + 1) * 2 > e->cap)
		ftab_grow(e);
	size_t mask = e->cap - 1, i = (size_t)(key >> 20) & mask;
	while (e->slot[i].key && e->slot[i].key != key)
		i = (i + 1) & mask;
	if (!e->slot[i].key) {
		e->slot[i].key = key;
		e->slot[i].cls = cls;
		e->used++;
	}
	if (e->slot[i].tf < UINT32_MAX)
		e->slot[i].tf++;
}

/* ---- words ---- */

static int stop_cmp(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

static bool is_stop(const unsigned char *w, size_t n)
{
	if (n == 1 && w[0] >= 'a' && w[0] <= 'z')
		return true; /* stray letters: "don't" -> don, t */
	if (n > 9)
		return false;
	char k[10];
	memcpy(k, w, n);
	k[n] = '\0';
	return bsearch(k, stop_words, sizeof(stop_words) / sizeof(stop_words[0]), sizeof(stop_words[0]),
	               stop_cmp) != NULL;
}

static bool ends(const unsigned char *w, size_t n, const char *suf)
{
	size_t l = strlen(suf);
	return n >= l && memcmp(w + n - l, suf, l) == 0;
}

static bool is_vowel(unsigned char c)
{
	return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
}

static bool has_vowel(const unsigned char *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (is_vowel(w[i]))
			return true;
	return false;
}

/* Plural forms: indexes -> index, queries -> query, tables -> table, statuses -> status; class, status stay. */
static size_t strip_plural(unsigned char *w, size_t n)
{
	if (ends(w, n, "ies") && n > 4) {
		w[n - 3] = 'y';
		return n - 2;
	}
	if (ends(w, n, "sses") || (ends(w, n, "uses") && n > 5) || ends(w, n, "xes") || ends(w, n, "zes") ||
	    ends(w, n, "ches") || ends(w, n, "shes"))
		return n - 2;
	if (w[n - 1] == 's' && !ends(w, n, "ss") && !ends(w, n, "us") && !ends(w, n, "is"))
		return n - 1;
	return n;
}

/* -ing and -ed when a stem with a vowel of at least 3 letters remains; running -> run, but added -> add. */
static size_t strip_verb(unsigned char *w, size_t n)
{
	size_t m = n;
	if (ends(w, n, "ing"))
		m = n - 3;
	else if (ends(w, n, "ed") && !ends(w, n, "eed"))
		m = n - 2;
	if (m == n || m < 3 || !has_vowel(w, m))
		return n;
	if (m >= 4 && w[m - 1] == w[m - 2] && !is_vowel(w[m - 1]) && w[m - 1] != 'l' && w[m - 1] != 's' &&
	    w[m - 1] != 'z')
		m--;
	return m;
}

/* Light suffix stripping for lower-case ASCII words, so indexes, indexing, indexed and index meet, and
 * create, creating, created meet at "creat". Other words are left alone. */
static size_t stem(unsigned char *w, size_t n)
{
	if (n <= 3)
		return n;
	for (size_t i = 0; i < n; i++)
		if (w[i] < 'a' || w[i] > 'z')
			return n;
	n = strip_plural(w, n);
	n = strip_verb(w, n);
	if (n > 3 && w[n - 1] == 'e')
		n--;
	return n;
}

/* Character 3- and 4-grams of "<word>", over code points. */
static void char_ngrams(struct embedder *e, const unsigned char *w, size_t n)
{
	unsigned char b[NGRAM_WORD_MAX + 2];
	size_t start[NGRAM_WORD_MAX + 3], ncp = 0;
	bool digits = true;
	if (n > NGRAM_WORD_MAX)
		return;
	b[0] = '<';
	memcpy(b + 1, w, n);
	b[n + 1] = '>';
	for (size_t i = 0; i < n + 2; i++) {
		if ((b[i] & 0xC0) != 0x80)
			start[ncp++] = i;
		if (i > 0 && i <= n && (b[i] < '0' || b[i] > '9'))
			digits = false;
	}
	if (digits || ncp < 4) /* numbers, and single characters whose n-gram is the word itself */
		return;
	start[ncp] = n + 2;
	for (size_t i = 0; i + 3 <= ncp; i++)
		feat_add(e, hash_bytes(b + start[i], start[i + 3] - start[i], class_seed[F_CHAR3]), F_CHAR3);
	for (size_t i = 0; i + 4 <= ncp; i++)
		feat_add(e, hash_bytes(b + start[i], start[i + 4] - start[i], class_seed[F_CHAR4]), F_CHAR4);
}

/* One content word: unigram, bigram with the previous content word of the sentence, character n-grams. */
static void add_word(struct embedder *e, unsigned char *w, size_t n)
{
	if (!e->keep_stop && is_stop(w, n))
		return;
	n = stem(w, n);
	uint64_t h = hash_bytes(w, n, class_seed[F_WORD]);
	feat_add(e, h, F_WORD);
	if (e->have_prev)
		feat_add(e, mix64(e->prev ^ rotl64(h, 31) ^ class_seed[F_BIGRAM]), F_BIGRAM);
	e->prev = h;
	e->have_prev = true;
	char_ngrams(e, w, n);
}

/* A lower-cased token: an identifier like pg_stat_activity counts whole and as its parts. */
static void add_token(struct embedder *e, unsigned char *t, size_t n)
{
	size_t parts = 0, first = 0, i = 0;
	while (i < n) {
		while (i < n && t[i] == '_')
			i++;
		if (i == n)
			break;
		if (parts++ == 0)
			first = i;
		while (i < n && t[i] != '_')
			i++;
	}
	if (parts == 0)
		return;
	if (parts == 1) {
		size_t end = first;
		while (end < n && t[end] != '_')
			end++;
		add_word(e, t + first, end - first);
		return;
	}
	feat_add(e, hash_bytes(t, n, class_seed[F_WORD]), F_WORD);
	for (i = 0; i < n;) {
		while (i < n && t[i] == '_')
			i++;
		size_t s = i;
		while (i < n && t[i] != '_')
			i++;
		if (i > s)
			add_word(e, t + s, i - s);
	}
}

/* ---- scanning ---- */

enum cp_kind { CP_SEP, CP_WORD, CP_CJK };

struct cp_range {
	uint32_t lo, hi;
};

/* Punctuation, symbols, spaces, emoji and specials outside Latin-1: they separate words. */
static const struct cp_range sep_ranges[] = {
	{0x2000, 0x2BFF}, {0x2E00, 0x2E7F}, {0x3000, 0x303F}, {0xFE10, 0xFE6F}, {0xFEFF, 0xFEFF},
	{0xFF00, 0xFF0F}, {0xFF1A, 0xFF20}, {0xFF3B, 0xFF40}, {0xFF5B, 0xFF65}, {0xFFF0, 0xFFFF},
	{0x1F000, 0x1FAFF}, {0xE0000, 0xE007F},
};

/* Scripts written without spaces between words: kana and Han ideographs. */
static const struct cp_range cjk_ranges[] = {
	{0x3040, 0x30FF}, {0x3400, 0x4DBF}, {0x4E00, 0x9FFF}, {0xF900, 0xFAFF}, {0x20000, 0x2FFFF},
};

static bool in_ranges(uint32_t cp, const struct cp_range *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cp >= r[i].lo && cp <= r[i].hi)
			return true;
	return false;
}

/* Non-ASCII code points: punctuation, symbols and spaces separate words; Han and kana stand alone (each is a
 * token, and bigrams chain them); everything else is a letter. */
static enum cp_kind cp_classify(uint32_t cp)
{
	if (cp < 0xA0 || cp == 0xD7 || cp == 0xF7)
		return CP_SEP;
	if (cp <= 0xBF) { /* Latin-1 punctuation and symbols, except the letters ª µ º and superscripts ² ³ ¹ */
		bool letter = cp == 0xAA || cp == 0xB5 || cp == 0xBA || cp == 0xB2 || cp == 0xB3 || cp == 0xB9;
		return letter ? CP_WORD : CP_SEP;
	}
	if (cp < 0x2000)
		return CP_WORD;
	if (in_ranges(cp, sep_ranges, sizeof(sep_ranges) / sizeof(sep_ranges[0])))
		return CP_SEP;
	if (in_ranges(cp, cjk_ranges, sizeof(cjk_ranges) / sizeof(cjk_ranges[0])))
		return CP_CJK;
	return CP_WORD;
}

/* Lower case for Latin-1, Latin Extended-A, Greek and Cyrillic capitals (same UTF-8 length both ways). */
static uint32_t cp_fold(uint32_t cp)
{
	if ((cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) || (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) ||
	    (cp >= 0x410 && cp <= 0x42F))
		return cp + 0x20;
	if (cp >= 0x400 && cp <= 0x40F)
		return cp + 0x50;
	if (cp == 0x178)
		return 0xFF;
	if ((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177))
		return cp | 1;
	if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E))
		return (cp & 1) ? cp + 1 : cp;
	return cp;
}

static uint32_t cp_decode(const unsigned char *s, size_t l)
{
	static const unsigned char lead_mask[5] = {0, 0x7F, 0x1F, 0x0F, 0x07};
	uint32_t cp = s[0] & lead_mask[l];
	for (size_t i = 1; i < l; i++)
		cp = (cp << 6) | (s[i] & 0x3F);
	return cp;
}

static size_t cp_encode(uint32_t cp, unsigned char *d)
{
	if (cp < 0x800) {
		d[0] = (unsigned char)(0xC0 | (cp >> 6));
		d[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (unsigned char)(0xE0 | (cp >> 12));
		d[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		d[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	d[0] = (unsigned char)(0xF0 | (cp >> 18));
	d[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	d[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	d[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

static inline bool ascii_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

struct token {
	unsigned char b[TOKEN_MAX];
	size_t n;
};

static void tok_put(struct token *t, const unsigned char *p, size_t n)
{
	if (t->n + n <= TOKEN_MAX) {
		memcpy(t->b + t->n, p, n);
		t->n += n;
	}
}

static void tok_flush(struct embedder *e, struct token *t)
{
	if (t->n)
		add_token(e, t->b, t->n);
	t->n = 0;
}

/* Non-ASCII at s[0..n): appends to or ends the current token; returns the bytes consumed. */
static size_t scan_multibyte(struct embedder *e, struct token *t, const unsigned char *s, size_t n)
{
	size_t l = utf8_seq_len(s, n);
	if (!l) { /* an invalid byte is kept as a word character */
		tok_put(t, s, 1);
		return 1;
	}
	uint32_t cp = cp_decode(s, l);
	enum cp_kind k = cp_classify(cp);
	if (k != CP_WORD) {
		tok_flush(e, t);
		if (k == CP_CJK) {
			tok_put(t, s, l);
			tok_flush(e, t);
		}
		return l;
	}
	unsigned char enc[4];
	uint32_t f = cp_fold(cp);
	if (f == cp)
		tok_put(t, s, l);
	else
		tok_put(t, enc, cp_encode(f, enc));
	return l;
}

static void scan(struct embedder *e, const unsigned char *s, size_t n)
{
	struct token t;
	t.n = 0;
	e->have_prev = false;
	size_t i = 0;
	while (i < n) {
		unsigned char c = s[i];
		if (c >= 0x80) {
			i += scan_multibyte(e, &t, s + i, n - i);
			continue;
		}
		i++;
		if (ascii_word(c)) {
			if (t.n < TOKEN_MAX)
				t.b[t.n++] = (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
			continue;
		}
		tok_flush(e, &t);
		if (c == '.' || c == '!' || c == '?' || c == ';')
			e->have_prev = false; /* no bigrams across sentences */
	}
	tok_flush(e, &t);
}

/* ---- projection ---- */

/* 4096 * (1 + ln tf), integer arithmetic only (log2 by repeated squaring), so every machine agrees. */
static uint64_t tf_weight(uint32_t tf)
{
	if (tf <= 1)
		return 4096;
	int k = 31 - __builtin_clz(tf);
	uint64_t y = ((uint64_t)tf << 30) >> k; /* tf / 2^k in Q30, within [1, 2) */
	uint64_t frac = 0;
	for (int b = 0; b < 12; b++) {
		y = (y * y) >> 30;
		frac <<= 1;
		if (y >= (2ULL << 30)) {
			y >>= 1;
			frac |= 1;
		}
	}
	uint64_t log2_q12 = ((uint64_t)k << 12) | frac;
	return 4096 + ((log2_q12 * 45426) >> 16); /* ln 2 = 45426 / 65536 */
}

/* Sums the signed feature weights per bucket and L2-normalises; false when every bucket is zero. */
static bool project(const struct embedder *e, int dim, float *out)
{
	int64_t acc[3072];
	memset(acc, 0, sizeof(acc[0]) * (size_t)dim);
	for (size_t i = 0; i < e->cap; i++) {
		const struct feat *f = &e->slot[i];
		if (!f->key)
			continue;
		int64_t w = (int64_t)((class_weight[f->cls] * tf_weight(f->tf)) >> 12);
		size_t idx = (size_t)(((f->key & 0xFFFFFFFFULL) * (uint64_t)dim) >> 32);
		acc[idx] += (f->key >> 63) ? -w : w;
	}
	uint64_t maxabs = 0;
	for (int i = 0; i < dim; i++) {
		uint64_t m = acc[i] < 0 ? (uint64_t)-acc[i] : (uint64_t)acc[i];
		if (m > maxabs)
			maxabs = m;
	}
	int shift = 0; /* keeps every square below 2^52, so the sum of squares is exact in 64 bits */
	while ((maxabs >> shift) >= (1ULL << 26))
		shift++;
	uint64_t ss = 0;
	for (int i = 0; i < dim; i++) {
		acc[i] /= (int64_t)1 << shift;
		ss += (uint64_t)(acc[i] * acc[i]);
	}
	if (ss == 0)
		return false;
	double norm = sqrt((double)ss);
	for (int i = 0; i < dim; i++)
		out[i] = (float)((double)acc[i] / norm);
	return true;
}

static void unit_vector(int dim, float *out)
{
	uint64_t key = hash_bytes((const unsigned char *)"", 0, SEED_EMPTY);
	memset(out, 0, sizeof(*out) * (size_t)dim);
	out[((key & 0xFFFFFFFFULL) * (uint64_t)dim) >> 32] = (key >> 63) ? -1.0f : 1.0f;
}

int embed_builtin(const char *text, size_t len, int dim, float *out)
{
	if (!embed_dimension_valid(dim))
		return -1;
	struct embedder e = {0};
	e.cap = 512;
	while (e.cap < len && e.cap < 65536)
		e.cap *= 2;
	e.slot = xcalloc(e.cap, sizeof(*e.slot));
	scan(&e, (const unsigned char *)text, len);
	if (e.used == 0) {
		e.keep_stop = true;
		scan(&e, (const unsigned char *)text, len);
	}
	if (!project(&e, dim, out))
		unit_vector(dim, out);
	free(e.slot);
	return 0;
}
