/* Bounded zip reading with libzip from a memory buffer. libzip checks the central directory against the
 * local headers (ZIP_CHECKCONS) and each entry's CRC; the bounds here stop a zip bomb before and while it
 * inflates: the declared size is checked first, then the bytes actually produced, since a crafted header may
 * lie about the size. */
#include "lib/doc/doczip.h"

#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "lib/util/buf.h"
#include "lib/util/mem.h"

struct doczip {
	zip_t *za;
	const struct doc_limits *lim;
	size_t total; /* uncompressed bytes read so far */
};

static void fail(enum doc_status *st, char **err, enum doc_status s, char *msg)
{
	*st = s;
	*err = msg;
}

struct doczip *doczip_open(const char *data, size_t len, const struct doc_limits *lim, enum doc_status *st,
                           char **err)
{
	zip_error_t ze;
	zip_error_init(&ze);
	zip_source_t *src = zip_source_buffer_create(data, len, 0, &ze);
	if (!src) {
		fail(st, err, DOC_MALFORMED, xasprintf("zip: %s", zip_error_strerror(&ze)));
		zip_error_fini(&ze);
		return NULL;
	}
	zip_t *za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
	if (!za) {
		zip_source_free(src);
		fail(st, err, DOC_MALFORMED, xasprintf("not a readable zip: %s", zip_error_strerror(&ze)));
		zip_error_fini(&ze);
		return NULL;
	}
	zip_error_fini(&ze);
	zip_int64_t n = zip_get_num_entries(za, 0);
	if (n < 0 || (zip_uint64_t)n > lim->max_entries) {
		fail(st, err, DOC_TOO_LARGE,
		     xasprintf("zip has %lld entries (limit %zu)", (long long)n, lim->max_entries));
		zip_discard(za);
		return NULL;
	}
	struct doczip *z = xcalloc(1, sizeof(*z));
	z->za = za;
	z->lim = lim;
	return z;
}

static zip_int64_t locate(struct doczip *z, const char *name)
{
	/* names in OOXML and EPUB are case-insensitive in practice; an exact match first */
	zip_int64_t i = zip_name_locate(z->za, name, ZIP_FL_ENC_GUESS);
	return i >= 0 ? i : zip_name_locate(z->za, name, ZIP_FL_NOCASE | ZIP_FL_ENC_GUESS);
}

bool doczip_has(struct doczip *z, const char *name)
{
	return locate(z, name) >= 0;
}

/* Inflates entry idx, stopping after max bytes; *over is set when there was more. NULL on a read error. */
static char *inflate_entry(struct doczip *z, zip_int64_t idx, size_t max, size_t *len, bool *over, char **why)
{
	zip_file_t *f = zip_fopen_index(z->za, (zip_uint64_t)idx, 0);
	if (!f) {
		*why = xstrdup(zip_strerror(z->za));
		return NULL;
	}
	struct buf b = BUF_INIT;
	char tmp[65536];
	*over = false;
	for (;;) {
		size_t want = sizeof(tmp);
		if (b.len + want > max + 1) /* one byte past max tells "more" from "exactly max" */
			want = max + 1 - b.len;
		zip_int64_t got = want ? zip_fread(f, tmp, want) : 0;
		if (got < 0) {
			*why = xstrdup(zip_file_strerror(f));
			zip_fclose(f);
			buf_free(&b);
			return NULL;
		}
		if (got == 0)
			break;
		buf_append(&b, tmp, (size_t)got);
		if (b.len > max) {
			*over = true;
			b.len = max;
			b.data[max] = '\0';
			break;
		}
	}
	zip_fclose(f);
	*len = b.len;
	if (!b.data)
		return xstrdup("");
	return buf_steal(&b);
}

char *doczip_read(struct doczip *z, const char *name, size_t *len, enum doc_status *st, char **err)
{
	zip_int64_t idx = locate(z, name);
	if (idx < 0) {
		fail(st, err, DOC_MALFORMED, xasprintf("zip entry %.200s is missing", name));
		return NULL;
	}
	zip_stat_t zs;
	zip_stat_init(&zs);
	if (zip_stat_index(z->za, (zip_uint64_t)idx, 0, &zs) != 0) {
		fail(st, err, DOC_MALFORMED, xasprintf("zip entry %.200s: %s", name, zip_strerror(z->za)));
		return NULL;
	}
	if ((zs.valid & ZIP_STAT_ENCRYPTION_METHOD) && zs.encryption_method != ZIP_EM_NONE) {
		fail(st, err, DOC_ENCRYPTED, xasprintf("zip entry %.200s is encrypted", name));
		return NULL;
	}
	const struct doc_limits *l = z->lim;
	size_t room = l->max_total_bytes - z->total;
	if ((zs.valid & ZIP_STAT_SIZE) && (zs.size > l->max_entry_bytes || zs.size > room)) {
		fail(st, err, DOC_TOO_LARGE,
		     xasprintf("zip entry %.200s declares %llu bytes uncompressed (limit %zu per entry, %zu in all)",
		               name, (unsigned long long)zs.size, l->max_entry_bytes, l->max_total_bytes));
		return NULL;
	}
	size_t max = l->max_entry_bytes < room ? l->max_entry_bytes : room;
	bool over;
	char *why = NULL;
	char *data = inflate_entry(z, idx, max, len, &over, &why);
	if (!data) {
		fail(st, err, DOC_MALFORMED, xasprintf("zip entry %.200s: %s", name, why));
		free(why);
		return NULL;
	}
	if (over) {
		free(data);
		fail(st, err, DOC_TOO_LARGE,
		     xasprintf("zip entry %.200s inflates past %zu bytes (limit %zu per entry, %zu in all)", name, max,
		               l->max_entry_bytes, l->max_total_bytes));
		return NULL;
	}
	z->total += *len;
	return data;
}

char *doczip_read_head(struct doczip *z, const char *name, size_t max, size_t *len)
{
	zip_int64_t idx = locate(z, name);
	if (idx < 0)
		return NULL;
	bool over;
	char *why = NULL;
	char *data = inflate_entry(z, idx, max, len, &over, &why);
	free(why);
	return data;
}

void doczip_close(struct doczip *z)
{
	if (!z)
		return;
	zip_discard(z->za);
	free(z);
}
