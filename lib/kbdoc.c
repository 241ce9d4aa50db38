/* A document made ready for the knowledge base: converted text, page metadata, chunks and code examples. */
#include "kbdoc.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chunk.h"
#include "codeblock.h"
#include "html.h"
#include "mem.h"
#include "textstats.h"

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

static json_t *chunk_row(const struct chunk *c, int n, const char *url, const char *source_id, const char *title)
{
	json_t *meta = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:b, s:I}", "url", url, "source", source_id,
	                         "title", title, "headers", c->heading_path, "chunk_index", n, "char_count", c->chars,
	                         "word_count", c->words, "has_code", c->has_code, "start_index", (json_int_t)c->offset);
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

static json_t *code_row(const struct code_example *e, int n, const char *heading, const char *url,
                        const char *source_id)
{
	char *summary = xasprintf("%s%scode example%s%s", e->language, *e->language ? " " : "",
	                          *heading ? " in " : "", heading);
	json_t *meta = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "url", url, "source", source_id,
	                         "language", e->language, "headers", heading, "context_before", e->context_before,
	                         "context_after", e->context_after, "index", n, "char_count", e->chars);
	json_t *row = json_pack("{s:i, s:s, s:s, s:s, s:o}", "n", n, "hash", e->hash, "content", e->code,
	                        "summary", summary, "metadata", meta);
	free(summary);
	return row;
}

static char *dump(json_t *a)
{
	char *s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s ? s : xstrdup("[]");
}

int kbdoc_build(const char *data, size_t len, const char *content_type, const char *name, const char *url,
                const char *source_id, const char *fallback_title, const struct kbdoc_opts *o,
                struct kbdoc *out, char **err)
{
	memset(out, 0, sizeof *out);
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
	out->words = (int)textstats_words(doc.markdown, doc.markdown_len);
	out->chars = (int)textstats_chars(doc.markdown, doc.markdown_len);

	struct chunk_list chunks = CHUNK_LIST_INIT;
	struct chunk_opts copts = {o->chunk_size, o->chunk_overlap, out->title};
	if (chunk_text(out->markdown, out->markdown_len, &copts, &chunks) < 0) {
		*err = xasprintf("invalid chunking settings: size %d, overlap %d", o->chunk_size, o->chunk_overlap);
		kbdoc_free(out);
		return -1;
	}
	json_t *rows = json_array();
	for (size_t i = 0; i < chunks.n; i++)
		json_array_append_new(rows, chunk_row(&chunks.items[i], (int)i, url, source_id, out->title));
	out->nchunks = (int)chunks.n;
	out->chunks_json = dump(rows);

	struct codeblock_list codes = CODEBLOCK_LIST_INIT;
	struct codeblock_opts bopts = {.min_chars = o->code_min_length, .context_chars = CODE_CONTEXT_CHARS};
	codeblock_extract(out->markdown, out->markdown_len, &bopts, &codes);
	rows = json_array();
	for (size_t i = 0; i < codes.n; i++)
		json_array_append_new(rows, code_row(&codes.items[i], (int)i, heading_at(&chunks, codes.items[i].offset),
		                                     url, source_id));
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
	memset(d, 0, sizeof *d);
}
