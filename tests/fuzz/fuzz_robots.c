/* libFuzzer target: robots.txt parsing and matching (input: robots.txt, then an optional NUL and a path). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/crawl/robots.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *txt = (const char *)data;
	const char *nul = memchr(txt, '\0', size);
	size_t len = nul ? (size_t)(nul - txt) : size;
	struct robots *r = robots_parse(txt, len, "pgkb");

	char *path = NULL;
	if (nul) {
		size_t plen = size - len - 1;
		path = malloc(plen + 1);
		memcpy(path, nul + 1, plen);
		path[plen] = '\0';
	}
	static const char *const fixed[] = {"/", "/robots.txt", "/a/b.gif", "/x?y=1", "/%7Efoo/%E3%83%84*$"};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		(void)robots_allowed(r, fixed[i]);
	if (path)
		(void)robots_allowed(r, path);
	(void)robots_crawl_delay(r);
	const char *const *maps;
	size_t n = robots_sitemaps(r, &maps);
	for (size_t i = 0; i < n; i++)
		if (!maps[i] || strncmp(maps[i], "http", 4) != 0)
			abort();
	robots_free(r);
	free(path);
	return 0;
}
