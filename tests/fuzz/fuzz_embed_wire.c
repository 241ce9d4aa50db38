/* libFuzzer target: embedding response parsers and error classification, retry hints, vector literals, builtin.
 * Input: byte 0 picks the function, bytes 1-2 its parameters, the rest is the body. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/embed/embed_builtin.h"
#include "lib/embed/embed_wire.h"
#include "lib/text/utf8.h"
#include "lib/embed/vecfmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(const struct embed_error *e)
{
	if (e->status == EMBED_OK || !e->message)
		abort();
	size_t n = strlen(e->message);
	if (n > EMBED_MESSAGE_MAX + 3 || !utf8_is_clean(e->message, n))
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)e->message[i] < 0x20)
			abort();
}

static void fuzz_parse(int ollama, size_t expect, int dim, const char *body, size_t len)
{
	struct embed_result r;
	struct embed_error e = EMBED_ERROR_INIT;
	int rc = ollama ? embed_ollama_parse(body, len, expect, dim, &r, &e)
	                : embed_openai_parse(body, len, expect, dim, &r, &e);
	if (rc == 0) {
		if (r.count != expect || r.dim != dim || e.message)
			abort();
		for (size_t i = 0; i < expect * (size_t)dim; i++)
			if (!isfinite(r.vectors[i]))
				abort();
	} else {
		if (r.vectors)
			abort();
		check_error(&e);
	}
	embed_result_free(&r);
	embed_error_free(&e);
}

static void fuzz_vecfmt(const char *s, size_t len)
{
	float *v, *w;
	size_t n, m;
	char *err;
	if (vecfmt_parse(s, len, &v, &n, &err) < 0) {
		free(err);
		return;
	}
	char *text = vecfmt_format(v, n, VECFMT_ARRAY);
	if (!text || vecfmt_parse(text, strlen(text), &w, &m, &err) < 0 || m != n)
		abort();
	if (n && memcmp(v, w, n * sizeof(*v)) != 0)
		abort();
	free(text);
	free(v);
	free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	unsigned sel = data[0] % 6, a = data[1], b = data[2];
	const char *body = (const char *)data + 3;
	size_t len = size - 3;
	struct embed_error e = EMBED_ERROR_INIT;
	switch (sel) {
	case 0:
	case 1:
		fuzz_parse(sel == 1, 1 + a % 8, 1 + (int)(b % 16), body, len);
		break;
	case 2:
		embed_classify(100 + (int)(a * 2 + (b & 1)), body, len, &e);
		check_error(&e);
		embed_error_free(&e);
		break;
	case 3: {
		char *s = strndup(body, len);
		int64_t ms = (a & 1) ? embed_duration_ms(s) : embed_retry_after_ms(s, (time_t)1445412480 + b);
		if (ms < -1 || ms > 24LL * 3600 * 1000)
			abort();
		free(s);
		break;
	}
	case 4:
		fuzz_vecfmt(body, len);
		break;
	case 5: {
		float v[384];
		double ss = 0;
		embed_builtin(body, len, 384, v);
		for (int i = 0; i < 384; i++)
			ss += (double)v[i] * v[i];
		if (fabs(ss - 1.0) > 1e-4)
			abort();
		break;
	}
	}
	return 0;
}
