/* libFuzzer driver: any bytes as a pgkb.yaml, plus a few environment overrides; must never crash or leak. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cfg/cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first line, if it starts with "PGKB_" or "DATABASE_URL=", is one environment variable. */
	char *env_line = NULL;
	char *envp[2] = {NULL, NULL};
	const uint8_t *nl = memchr(data, '\n', size);
	bool pgkb = size >= 5 && memcmp(data, "PGKB_", 5) == 0;
	bool dburl = size >= 13 && memcmp(data, "DATABASE_URL=", 13) == 0;
	if (nl && (pgkb || dburl)) {
		env_line = strndup((const char *)data, (size_t)(nl - data));
		envp[0] = env_line;
		size -= (size_t)(nl + 1 - data);
		data = nl + 1;
	}
	struct cfg c;
	char *err = NULL;
	if (cfg_load_string(&c, "fuzz.yaml", (const char *)data, size, envp, &err) == 0) {
		free(cfg_dump(&c));
		cfg_free(&c);
	} else {
		if (!err)
			abort(); /* an error must come with a message */
		free(err);
	}
	free(env_line);
	return 0;
}
