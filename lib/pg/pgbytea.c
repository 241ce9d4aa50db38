/* bytea hex output decoding, validated: one decoder for every stored body the workers read back. */
#include "lib/pg/pgbytea.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util/mem.h"

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

char *pg_bytea_decode(const char *s, size_t *len)
{
	if (s[0] != '\\' || s[1] != 'x')
		return NULL;
	s += 2;
	size_t digits = strlen(s);
	if (digits % 2)
		return NULL;
	char *out = xmalloc(digits / 2 + 1);
	for (size_t i = 0; i < digits / 2; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			free(out);
			return NULL;
		}
		out[i] = (char)(hi * 16 + lo);
	}
	out[digits / 2] = '\0';
	*len = digits / 2;
	return out;
}
