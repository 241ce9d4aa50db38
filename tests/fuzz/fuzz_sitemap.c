/* libFuzzer target: sitemap parsing (XML, text, gzip). The first byte picks the mode: bit 0 gzips the rest
 * first (so valid gzip streams reach the parser), bit 1 passes a base URL, bit 2 also reads the input in small
 * steps (sitemap_reader) with a cap of 1 + (mode >> 3) entries. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "lib/crawl/sitemap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	uint8_t *gz = NULL;
	if (mode & 1) {
		uLongf cap = compressBound((uLong)size) + 32;
		gz = malloc(cap);
		z_stream zs;
		memset(&zs, 0, sizeof zs);
		if (deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			abort();
		zs.next_in = (uint8_t *)data;
		zs.avail_in = (uInt)size;
		zs.next_out = gz;
		zs.avail_out = (uInt)cap;
		if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
			abort();
		size = cap - zs.avail_out;
		data = gz;
		deflateEnd(&zs);
	}
	struct sitemap sm;
	int rc = sitemap_parse(data, size, (mode & 2) ? "https://example.com/dir/sitemap.xml" : NULL, &sm);
	if (rc != 0 && !sm.error)
		abort();
	if (sm.n > SITEMAP_MAX_URLS)
		abort();
	for (size_t i = 0; i < sm.n; i++)
		if (!sm.entries[i].url || strncmp(sm.entries[i].url, "http", 4) != 0)
			abort();
	sitemap_free(&sm);
	if (mode & 4) { /* the same input through the stepping reader, in slices of 1 to 8 entries */
		struct sitemap_reader *r = sitemap_reader_new(data, size, NULL, 1 + (mode >> 3));
		struct sitemap part = {0};
		size_t total = 0;
		while ((rc = sitemap_reader_step(r, 1 + ((mode >> 3) & 7), &part)) == 1)
			total += part.n;
		total += part.n;
		if (total > 1u + (mode >> 3) || part.n > 8)
			abort();
		sitemap_free(&part);
		sitemap_reader_free(r);
	}
	free(gz);
	return 0;
}
