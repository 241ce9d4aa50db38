/* libFuzzer target: link extraction. The first byte picks the mode: bit 0 llms.txt instead of HTML, bit 1 a
 * Latin-1 charset, bit 2 a small link cap. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "links.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	const char *s = (const char *)data + 1;
	size--;
	size_t max = (mode & 4) ? 3 : 0;
	struct links l;
	int rc;
	const char *charset = (mode & 2) ? "ISO-8859-1" : NULL;
	if (mode & 1)
		rc = links_from_llms_txt(s, size, "https://example.com/docs/llms.txt", max, &l);
	else
		rc = links_from_html(s, size, "https://example.com/docs/page.html", charset, max, &l);
	if (rc != 0)
		abort();
	if (max && l.n > max)
		abort();
	for (size_t i = 0; i < l.n; i++) {
		const char *u = l.urls[i];
		if (!u || strncmp(u, "http", 4) != 0 || strchr(u, '#') || strchr(u, ' '))
			abort();
	}
	links_free(&l);
	return 0;
}
