/* Fence recognition and extraction of fenced code blocks (with their language and surrounding prose). */
#include "lib/text/codeblock.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util/buf.h"
#include "lib/util/mem.h"
#include "lib/text/textstats.h"

bool codeblock_fence_open(const char *line, size_t n, struct codeblock_fence *f)
{
	size_t i = 0;
	while (i < n && i < 4 && line[i] == ' ')
		i++;
	if (i > 3 || i >= n || (line[i] != '`' && line[i] != '~'))
		return false;
	char ch = line[i];
	size_t j = i;
	while (j < n && line[j] == ch)
		j++;
	if (j - i < 3)
		return false;
	size_t a = j, b = n;
	while (a < b && textstats_is_space((unsigned char)line[a]))
		a++;
	while (b > a && textstats_is_space((unsigned char)line[b - 1]))
		b--;
	if (ch == '`' && memchr(line + a, '`', b - a))
		return false;
	f->ch = ch;
	f->len = j - i;
	f->indent = i;
	f->info = line + a;
	f->info_len = b - a;
	return true;
}

bool codeblock_fence_close(const char *line, size_t n, const struct codeblock_fence *f)
{
	size_t i = 0;
	while (i < n && i < 4 && line[i] == ' ')
		i++;
	if (i > 3)
		return false;
	size_t j = i;
	while (j < n && line[j] == f->ch)
		j++;
	if (j - i < f->len)
		return false;
	while (j < n && textstats_is_space((unsigned char)line[j]))
		j++;
	return j == n;
}

void codeblock_fence_lang(const struct codeblock_fence *f, char lang[CODEBLOCK_LANG_MAX + 1])
{
	size_t o = 0;
	for (size_t i = 0; i < f->info_len && o < CODEBLOCK_LANG_MAX; i++) {
		unsigned char c = (unsigned char)f->info[i];
		if (textstats_is_space(c) || c == '{' || c == ',')
			break;
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("_+#.-", c))
			lang[o++] = (char)c;
	}
	lang[o] = '\0';
}

/* One fenced block located in the input. */
struct block {
	size_t open;       /* start of the opening fence line */
	size_t body;       /* start of the first content line */
	size_t body_end;   /* end of the last content line (before the closing fence line) */
	size_t end;        /* end of the closing fence line (including its newline), or len */
	struct codeblock_fence fence;
};

static size_t line_end(const char *s, size_t len, size_t pos)
{
	const char *nl = memchr(s + pos, '\n', len - pos);
	return nl ? (size_t)(nl - s) : len;
}

/* Finds the blocks of md[0..len); returns a heap array (count in *n). */
static struct block *find_blocks(const char *md, size_t len, size_t *n)
{
	struct block *v = NULL;
	size_t count = 0, cap = 0, pos = 0;
	while (pos < len) {
		size_t e = line_end(md, len, pos);
		struct codeblock_fence f;
		if (!codeblock_fence_open(md + pos, e - pos, &f)) {
			pos = e + 1;
			continue;
		}
		struct block b = {.open = pos, .body = e < len ? e + 1 : len, .fence = f};
		b.body_end = b.end = len;
		for (size_t p = b.body; p < len;) {
			size_t pe = line_end(md, len, p);
			if (codeblock_fence_close(md + p, pe - p, &f)) {
				b.body_end = p;
				b.end = pe < len ? pe + 1 : len;
				break;
			}
			p = pe + 1;
		}
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[count++] = b;
		pos = b.end;
	}
	*n = count;
	return v;
}

/* The block's code: content lines with the fence's indentation removed, outer blank lines trimmed. */
static char *block_code(const char *md, const struct block *b)
{
	struct buf out = BUF_INIT;
	for (size_t p = b->body; p < b->body_end;) {
		size_t e = line_end(md, b->body_end, p);
		size_t skip = 0;
		while (skip < b->fence.indent && p + skip < e && md[p + skip] == ' ')
			skip++;
		buf_append(&out, md + p + skip, e - p - skip);
		buf_putc(&out, '\n');
		p = e + 1;
	}
	while (out.len && textstats_is_space((unsigned char)out.data[out.len - 1]))
		out.len--;
	/* drop leading blank lines but keep the first line's indentation */
	size_t start = 0;
	for (size_t i = 0; i < out.len && textstats_is_space((unsigned char)out.data[i]); i++)
		if (out.data[i] == '\n')
			start = i + 1;
	char *code = xstrndup(out.len ? out.data + start : "", out.len - (out.len ? start : 0));
	buf_free(&out);
	return code;
}

static void trim_range(const char *s, size_t *a, size_t *b)
{
	while (*a < *b && textstats_is_space((unsigned char)s[*a]))
		(*a)++;
	while (*b > *a && textstats_is_space((unsigned char)s[*b - 1]))
		(*b)--;
}

static char *trimmed_dup(const char *s, size_t a, size_t b)
{
	trim_range(s, &a, &b);
	return xstrndup(s + a, b - a);
}

/* The last `chars` code points of s[a..b), starting at a word boundary. */
static char *context_tail(const char *s, size_t a, size_t b, size_t chars)
{
	trim_range(s, &a, &b);
	size_t total = textstats_chars(s + a, b - a);
	if (total > chars) {
		size_t cut = a + textstats_advance(s + a, b - a, total - chars);
		if (cut > a && !textstats_is_space((unsigned char)s[cut - 1]))
			while (cut < b && !textstats_is_space((unsigned char)s[cut]))
				cut++;
		a = cut;
	}
	return trimmed_dup(s, a, b);
}

/* The first `chars` code points of s[a..b), ending at a word boundary. */
static char *context_head(const char *s, size_t a, size_t b, size_t chars)
{
	trim_range(s, &a, &b);
	size_t cut = a + textstats_advance(s + a, b - a, chars);
	if (cut < b && !textstats_is_space((unsigned char)s[cut])) {
		size_t w = cut;
		while (w > a && !textstats_is_space((unsigned char)s[w - 1]))
			w--;
		cut = w;
	}
	return trimmed_dup(s, a, cut);
}

size_t codeblock_extract(const char *md, size_t len, const struct codeblock_opts *opts,
                         struct codeblock_list *out)
{
	struct codeblock_opts o = opts ? *opts : (struct codeblock_opts){0, 0, 0};
	size_t nblocks, added = 0;
	struct block *blocks = find_blocks(md, len, &nblocks);
	for (size_t i = 0; i < nblocks; i++) {
		const struct block *b = &blocks[i];
		char *code = block_code(md, b);
		size_t chars = textstats_chars(code, strlen(code));
		if (!chars || (o.min_chars > 0 && chars < (size_t)o.min_chars) ||
		    (o.max_chars > 0 && chars > (size_t)o.max_chars)) {
			free(code);
			continue;
		}
		if (out->n == out->cap) {
			out->cap = out->cap ? out->cap * 2 : 8;
			out->items = xrealloc(out->items, out->cap * sizeof(*out->items));
		}
		struct code_example *ex = &out->items[out->n++];
		char lang[CODEBLOCK_LANG_MAX + 1];
		codeblock_fence_lang(&b->fence, lang);
		size_t ctx = o.context_chars > 0 ? (size_t)o.context_chars : 0;
		size_t prev_end = i ? blocks[i - 1].end : 0;
		size_t next_open = i + 1 < nblocks ? blocks[i + 1].open : len;
		ex->language = xstrdup(lang);
		ex->code = code;
		ex->context_before = context_tail(md, prev_end, b->open, ctx);
		ex->context_after = context_head(md, b->end, next_open, ctx);
		ex->offset = b->open;
		ex->chars = (int)(chars > (size_t)0x7fffffff ? 0x7fffffff : chars);
		hash_sha256_hex(code, strlen(code), ex->hash);
		added++;
	}
	free(blocks);
	return added;
}

void codeblock_list_free(struct codeblock_list *list)
{
	for (size_t i = 0; i < list->n; i++) {
		free(list->items[i].language);
		free(list->items[i].code);
		free(list->items[i].context_before);
		free(list->items[i].context_after);
	}
	free(list->items);
	list->items = NULL;
	list->n = list->cap = 0;
}
