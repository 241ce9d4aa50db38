/* libFuzzer target: chunking and code extraction of arbitrary Markdown; two leading bytes pick sizes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/buf.h"
#include "lib/text/chunk.h"
#include "lib/text/codeblock.h"
#include "lib/util/hash.h"
#include "lib/text/textstats.h"
#include "lib/text/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) \
	do { \
		if (!(c)) \
			abort(); \
	} while (0)

/* True when every fence opened in s is closed again within s. */
static bool balanced(const char *s)
{
	struct codeblock_fence f;
	bool open = false;
	size_t n = strlen(s);
	for (size_t pos = 0; pos < n;) {
		const char *nl = memchr(s + pos, '\n', n - pos);
		size_t e = nl ? (size_t)(nl - s) : n;
		if (open)
			open = !codeblock_fence_close(s + pos, e - pos, &f);
		else
			open = codeblock_fence_open(s + pos, e - pos, &f);
		pos = e + 1;
	}
	return !open;
}

/* True when s has a line longer than min code points holding a run of 3 or more '`' or '~': the only
 * lines a chunk may exceed its size for (no piece of them is cut off where it would read as a fence). */
static bool has_fence_run(const char *s, size_t min)
{
	for (const char *p = s; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		bool run = false;
		for (size_t k = 0; k + 2 < n && !run; k++)
			run = (p[k] == '`' || p[k] == '~') && p[k + 1] == p[k] && p[k + 2] == p[k];
		if (run && textstats_chars(p, n) > min)
			return true;
		p = nl ? nl + 1 : NULL;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > (1u << 20))
		return 0;
	int csize = CHUNK_MIN_SIZE + data[0] * 4;
	int overlap = data[1] % (csize / 2 + 1);
	struct buf md = BUF_INIT;
	utf8_sanitize((const char *)data + 2, size - 2, &md);
	const char *s = buf_str(&md);
	struct chunk_opts o = {csize, overlap, "T"};
	struct chunk_list l = CHUNK_LIST_INIT;
	CHECK(chunk_text(s, md.len, &o, &l) == (int)l.n);
	for (size_t i = 0; i < l.n; i++) {
		const struct chunk *c = &l.items[i];
		size_t len = strlen(c->content);
		char hex[HASH_HEX_LEN + 1];
		CHECK(len > 0 && utf8_is_clean(c->content, len));
		CHECK(utf8_is_clean(c->heading_path, strlen(c->heading_path)));
		CHECK((size_t)c->chars == textstats_chars(c->content, len));
		CHECK(c->chars <= csize || has_fence_run(c->content, (size_t)csize / 4));
		CHECK(balanced(c->content));
		CHECK(c->end > c->offset && c->end <= md.len);
		CHECK(i == 0 || c->offset > l.items[i - 1].offset);
		hash_sha256_hex(c->content, len, hex);
		CHECK(!strcmp(hex, c->hash));
	}
	chunk_list_free(&l);
	struct codeblock_opts co = {data[0] % 50, data[1] % 3 ? 0 : 400, 40};
	struct codeblock_list cb = CODEBLOCK_LIST_INIT;
	codeblock_extract(s, md.len, &co, &cb);
	for (size_t i = 0; i < cb.n; i++) {
		CHECK(utf8_is_clean(cb.items[i].code, strlen(cb.items[i].code)));
		CHECK(utf8_is_clean(cb.items[i].context_before, strlen(cb.items[i].context_before)));
		CHECK(utf8_is_clean(cb.items[i].context_after, strlen(cb.items[i].context_after)));
		CHECK(cb.items[i].chars >= co.min_chars);
		CHECK(!co.max_chars || cb.items[i].chars <= co.max_chars);
	}
	codeblock_list_free(&cb);
	buf_free(&md);
	return 0;
}
