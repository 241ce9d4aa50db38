/* A document made ready for the knowledge base: converted text, page metadata, chunks and code examples. */
#include "lib/text/kbdoc.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/text/chunk.h"
#include "lib/text/codeblock.h"
#include "lib/embed/embed.h"
#include "lib/embed/embed_builtin.h"
#include "lib/text/html.h"
#include "lib/util/buf.h"
#include "lib/util/mem.h"
#include "lib/text/textstats.h"

#define CODE_CONTEXT_CHARS 300

char *kbdoc_charset(const char *ct)
{
	if (!ct)
		return NULL;
	const char *p = strcasestr(ct, "charset=");
	if (!p)
		return NULL;
	p += 8;
	if (*p == '"')
		p++;
	size_t n = strcspn(p, "\"; \t");
	return n ? xstrndup(p, n) : NULL;
}

size_t kbdoc_page_at(const struct kbdoc_pages *p, size_t off)
{
	size_t lo = 0, hi = p->n; /* the answer is the last start <= off: in [lo, hi) */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->start[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo + 1;
}

/* Archon's form of a heading path: "A > B" becomes "# A; ## B" (Archon lists a chunk's headings as "#"-prefixed
 * Markdown joined by "; "; the level here is the depth in the path). */
static char *archon_headers(const char *path)
{
	struct buf b = BUF_INIT;
	int level = 1;
	while (*path) {
		const char *sep = strstr(path, " > ");
		size_t n = sep ? (size_t)(sep - path) : strlen(path);
		if (b.len)
			buf_puts(&b, "; ");
		for (int i = 0; i < level; i++)
			buf_puts(&b, "#");
		buf_printf(&b, " %.*s", (int)n, path);
		level++;
		path += n + (sep ? 3 : 0);
	}
	char *s = xstrdup(b.len ? buf_str(&b) : "");
	buf_free(&b);
	return s;
}

/* Chunk metadata: Archon's keys (source_id, headers in its form, chunk_index, chunk_size, char_count,
 * word_count, has_code, title, url) and pgkb's (source, heading_path, start_index). 088_archon.sql adds the
 * source-level keys and page_id when the row is written. */
static json_t *chunk_row(const struct chunk *c, int n, const char *url, const char *source_id, const char *title,
                         const struct kbdoc_pages *pages)
{
	char *headers = archon_headers(c->heading_path);
	json_t *meta = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:b, s:I}", "url", url, "source",
	                         source_id, "source_id", source_id, "title", title, "headers", headers, "heading_path",
	                         c->heading_path, "chunk_index", n, "chunk_size", c->chars, "char_count", c->chars,
	                         "word_count", c->words, "has_code", c->has_code, "start_index", (json_int_t)c->offset);
	free(headers);
	if (pages && pages->n) { /* the chunk's own text: the overlap it repeats belongs to the chunk before */
		size_t first = kbdoc_page_at(pages, c->offset);
		size_t last = kbdoc_page_at(pages, c->end > c->offset ? c->end - 1 : c->offset);
		json_object_set_new(meta, "page_start", json_integer((json_int_t)first));
		json_object_set_new(meta, "page_end", json_integer((json_int_t)last));
		if (pages->url) {
			char *u = xasprintf("%s#page=%zu", pages->url, first);
			json_object_set_new(meta, "page_url", json_string(u));
			free(u);
		}
	}
	return json_pack("{s:i, s:s, s:s, s:o}", "n", n, "hash", c->hash, "content", c->content, "metadata", meta);
}

/* The heading path in force at a byte offset: that of the last chunk starting at or before it. */
static const char *heading_at(const struct chunk_list *chunks, size_t offset)
{
	const char *h = "";
	for (size_t i = 0; i < chunks->n && chunks->items[i].offset <= offset; i++)
		h = chunks->items[i].heading_path;
	return h;
}

static char *code_summary(const struct code_example *e, const char *heading)
{
	return xasprintf("%s%scode example%s%s", e->language, *e->language ? " " : "", *heading ? " in " : "", heading);
}

/* Archon's name for a code example: the heading it stands under, else "Code Example (language)" as Archon
 * names one its summariser could not name. */
static char *code_name(const struct code_example *e, const char *heading)
{
	const char *last = heading;
	for (const char *p = strstr(heading, " > "); p; p = strstr(p + 3, " > "))
		last = p + 3;
	if (*last)
		return xstrdup(last);
	return *e->language ? xasprintf("Code Example (%s)", e->language) : xstrdup("Code Example");
}

/* Code-example metadata: Archon's keys (source_id, chunk_index, title and example_name, language, char_count,
 * word_count, url) and pgkb's (source, headers, context_before/after, index). */
static json_t *code_row(const struct code_example *e, int n, const char *heading, const char *summary,
                        const char *url, const char *source_id)
{
	char *name = code_name(e, heading);
	json_t *meta = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i}", "url", url,
	                         "source", source_id, "source_id", source_id, "title", name, "example_name", name,
	                         "language", e->language, "headers", heading, "context_before", e->context_before,
	                         "context_after", e->context_after, "index", n, "chunk_index", n, "char_count",
	                         e->chars, "word_count", (int)textstats_words(e->code, strlen(e->code)));
	free(name);
	return json_pack("{s:i, s:s, s:s, s:s, s:o}", "n", n, "hash", e->hash, "content", e->code, "summary", summary,
	                 "metadata", meta);
}

/* What the embed worker embeds for a code example: concat_ws(E'\n\n', content, nullif(summary, '')). */
static void embed_code(const char *code, const char *summary, int dim, float *out)
{
	char *t = *summary ? xasprintf("%s\n\n%s", code, summary) : xstrdup(code);
	embed_builtin(t, strlen(t), dim, out);
	free(t);
}

static char *dump(json_t *a)
{
	char *s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s ? s : xstrdup("[]");
}

static int kbdoc_split(const char *url, const char *source_id, const struct kbdoc_opts *o,
                       const struct kbdoc_pages *pages, struct kbdoc *out, char **err);

int kbdoc_build(const char *data, size_t len, const char *content_type, const char *name, const char *url,
                const char *source_id, const char *fallback_title, const struct kbdoc_opts *o,
                struct kbdoc *out, char **err)
{
	memset(out, 0, sizeof *out);
	if (o->embed_dim && !embed_dimension_valid(o->embed_dim)) {
		*err = xasprintf("invalid embedding dimension %d", o->embed_dim);
		return -1;
	}
	struct html_doc doc;
	char *charset = kbdoc_charset(content_type);
	enum html_format fmt = html_guess_format(content_type, name, data, len);
	int rc = html_doc_convert(data, len, fmt, charset, &doc, err);
	free(charset);
	if (rc != 0)
		return -1;
	out->title = *doc.title ? doc.title : (free(doc.title), xstrdup(fallback_title ? fallback_title : ""));
	out->description = doc.description;
	out->markdown = doc.markdown;
	out->markdown_len = doc.markdown_len;
	out->depth_limit = doc.depth_limit;
	return kbdoc_split(url, source_id, o, NULL, out, err);
}

int kbdoc_build_markdown(const char *md, size_t len, const char *title, const char *description, const char *url,
                         const char *source_id, const char *fallback_title, const struct kbdoc_opts *o,
                         const struct kbdoc_pages *pages, struct kbdoc *out, char **err)
{
	memset(out, 0, sizeof *out);
	if (o->embed_dim && !embed_dimension_valid(o->embed_dim)) {
		*err = xasprintf("invalid embedding dimension %d", o->embed_dim);
		return -1;
	}
	out->title = xstrdup(title && *title ? title : fallback_title ? fallback_title : "");
	out->description = xstrdup(description ? description : "");
	out->markdown = xstrndup(md, len);
	out->markdown_len = len;
	return kbdoc_split(url, source_id, o, pages, out, err);
}

/* Counts, chunks and code examples of out->markdown. */
static int kbdoc_split(const char *url, const char *source_id, const struct kbdoc_opts *o,
                       const struct kbdoc_pages *pages, struct kbdoc *out, char **err)
{
	out->words = (int)textstats_words(out->markdown, out->markdown_len);
	out->chars = (int)textstats_chars(out->markdown, out->markdown_len);

	struct chunk_list chunks = CHUNK_LIST_INIT;
	struct chunk_opts copts = {o->chunk_size, o->chunk_overlap, out->title};
	if (chunk_text(out->markdown, out->markdown_len, &copts, &chunks) < 0) {
		*err = xasprintf("invalid chunking settings: size %d, overlap %d", o->chunk_size, o->chunk_overlap);
		kbdoc_free(out);
		return -1;
	}
	size_t dim = (size_t)o->embed_dim;
	if (dim && chunks.n)
		out->chunk_vectors = xmalloc(chunks.n * dim * sizeof(float));
	json_t *rows = json_array();
	for (size_t i = 0; i < chunks.n; i++) {
		const struct chunk *c = &chunks.items[i];
		json_array_append_new(rows, chunk_row(c, (int)i, url, source_id, out->title, pages));
		if (dim)
			embed_builtin(c->content, strlen(c->content), o->embed_dim, out->chunk_vectors + i * dim);
	}
	out->nchunks = (int)chunks.n;
	out->chunks_json = dump(rows);

	struct codeblock_list codes = CODEBLOCK_LIST_INIT;
	struct codeblock_opts bopts = {.min_chars = o->code_min_length, .context_chars = CODE_CONTEXT_CHARS};
	codeblock_extract(out->markdown, out->markdown_len, &bopts, &codes);
	if (dim && codes.n)
		out->code_vectors = xmalloc(codes.n * dim * sizeof(float));
	rows = json_array();
	for (size_t i = 0; i < codes.n; i++) {
		const struct code_example *e = &codes.items[i];
		const char *heading = heading_at(&chunks, e->offset);
		char *summary = code_summary(e, heading);
		json_array_append_new(rows, code_row(e, (int)i, heading, summary, url, source_id));
		if (dim)
			embed_code(e->code, summary, o->embed_dim, out->code_vectors + i * dim);
		free(summary);
	}
	out->ncodes = (int)codes.n;
	out->codes_json = dump(rows);
	chunk_list_free(&chunks);
	codeblock_list_free(&codes);
	return 0;
}

void kbdoc_free(struct kbdoc *d)
{
	free(d->title);
	free(d->description);
	free(d->markdown);
	free(d->chunks_json);
	free(d->codes_json);
	free(d->chunk_vectors);
	free(d->code_vectors);
	memset(d, 0, sizeof *d);
}
