/* Result records between the converter child and its parent; see docwire.h. */
#include "lib/doc/docwire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/text/utf8.h"
#include "lib/util/mem.h"

#define MAGIC "PGKBDOC1"

static void put_u64(struct buf *b, uint64_t v)
{
	buf_append(b, &v, sizeof(v));
}

void docwire_encode(enum doc_status st, const char *reason, const struct doc_text *doc, struct buf *out)
{
	const char *strs[4] = {reason ? reason : "", "", "", ""};
	size_t lens[4];
	uint64_t npages = 0;
	if (st == DOC_OK) {
		strs[1] = doc->title;
		strs[2] = doc->author;
		strs[3] = doc->markdown;
		npages = doc->npages;
	}
	for (int i = 0; i < 4; i++) {
		lens[i] = i == 3 ? (st == DOC_OK ? doc->markdown_len : 0) : strlen(strs[i]);
		if (i < 3 && lens[i] > DOCWIRE_META_MAX)
			lens[i] = utf8_floor(strs[i], lens[i], DOCWIRE_META_MAX);
	}
	buf_append(out, MAGIC, 8);
	put_u64(out, (uint64_t)st);
	put_u64(out, st == DOC_OK ? (uint64_t)doc->format : 0);
	put_u64(out, st == DOC_OK ? (uint64_t)doc->truncated : 0);
	put_u64(out, npages);
	for (int i = 0; i < 4; i++)
		put_u64(out, lens[i]);
	for (int i = 0; i < 4; i++)
		buf_append(out, strs[i], lens[i]);
	for (uint64_t p = 0; p < npages; p++)
		put_u64(out, doc->page_start[p]);
}

static uint64_t get_u64(const char *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

int docwire_decode(const char *data, size_t len, enum doc_status *st, char **reason, struct doc_text *doc)
{
	const size_t head = 8 + 8 * 8;
	memset(doc, 0, sizeof(*doc));
	*reason = NULL;
	if (len < head || memcmp(data, MAGIC, 8) != 0)
		return -1;
	uint64_t status = get_u64(data + 8), format = get_u64(data + 16), trunc = get_u64(data + 24);
	uint64_t npages = get_u64(data + 32), lens[4];
	size_t need = head;
	for (int i = 0; i < 4; i++) {
		lens[i] = get_u64(data + 40 + 8 * i);
		if (lens[i] > len || need + lens[i] > len)
			return -1;
		need += lens[i];
	}
	if (status > DOC_FAILED || format > DOC_FORMAT_EPUB || trunc > 1 || npages > (len - need) / 8 ||
	    need + npages * 8 != len)
		return -1;
	const char *s = data + head;
	for (int i = 0; i < 4; i++) {
		if (!utf8_is_clean(s, lens[i]))
			return -1;
		s += lens[i];
	}
	const char *pages = s;
	if (status == DOC_OK) {
		if (npages == 0 || get_u64(pages) != 0)
			return -1;
		for (uint64_t p = 0; p < npages; p++) {
			uint64_t v = get_u64(pages + 8 * p);
			if (v > lens[3] || (p > 0 && v < get_u64(pages + 8 * (p - 1))))
				return -1;
		}
	} else if (npages != 0 || lens[0] == 0) {
		return -1;
	}
	*st = (enum doc_status)status;
	s = data + head;
	if (status != DOC_OK) {
		*reason = xstrndup(s, lens[0]);
		return 0;
	}
	s += lens[0];
	doc->format = (enum doc_format)format;
	doc->truncated = trunc;
	doc->title = xstrndup(s, lens[1]);
	s += lens[1];
	doc->author = xstrndup(s, lens[2]);
	s += lens[2];
	doc->markdown = xstrndup(s, lens[3]);
	doc->markdown_len = lens[3];
	doc->npages = npages;
	doc->page_start = xcalloc(npages, sizeof(size_t));
	for (uint64_t p = 0; p < npages; p++)
		doc->page_start[p] = get_u64(pages + 8 * p);
	return 0;
}
