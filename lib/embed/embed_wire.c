/* Embedding wire formats: JSON requests and responses of OpenAI-compatible and Ollama providers, error
 * classification and messages, Retry-After and duration hints, token estimates for batching. */
#include "lib/embed/embed_wire.h"

#include <float.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/buf.h"
#include "lib/util/log.h"
#include "lib/util/mem.h"
#include "lib/text/utf8.h"

#define CAP_MS (24LL * 3600 * 1000)

/* ---- requests ---- */

static json_t *text_array(const char *const *texts, const size_t *lens, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *s;
		if (utf8_is_clean(texts[i], lens[i])) {
			s = json_stringn_nocheck(texts[i], lens[i]);
		} else {
			char *c = utf8_clean_dup(texts[i], lens[i]);
			s = json_string_nocheck(c);
			free(c);
		}
		json_array_append_new(arr, s);
	}
	return arr;
}

static char *dump_request(json_t *root)
{
	char *s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!s) {
		log_error("embed: out of memory building a request body");
		abort();
	}
	return s;
}

char *embed_openai_request(const char *model, const char *const *texts, const size_t *lens, size_t n,
                           int dimensions)
{
	json_t *root = json_object();
	json_object_set_new(root, "model", json_string(model));
	json_object_set_new(root, "input", text_array(texts, lens, n));
	json_object_set_new(root, "encoding_format", json_string("float"));
	if (dimensions > 0)
		json_object_set_new(root, "dimensions", json_integer(dimensions));
	return dump_request(root);
}

char *embed_ollama_request(const char *model, const char *const *texts, const size_t *lens, size_t n)
{
	json_t *root = json_object();
	json_object_set_new(root, "model", json_string(model));
	json_object_set_new(root, "input", text_array(texts, lens, n));
	return dump_request(root);
}

/* ---- errors and messages ---- */

static bool token_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
	       c == '.';
}

static size_t token_run(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && token_char((unsigned char)s[i]))
		i++;
	return i;
}

/* Length of a secret-revealing prefix at s ("Bearer ", "api_key=", "sk-" at a word start), 0 when none. */
static size_t secret_prefix(const char *s, size_t n, bool word_start)
{
	static const char *const marks[] = {"bearer ", "api_key=", "api-key=", "api-key: ", "apikey=", "key=",
	                                    "token=", "password="};
	for (size_t k = 0; k < sizeof(marks) / sizeof(marks[0]); k++) {
		size_t l = strlen(marks[k]);
		if (n >= l && strncasecmp(s, marks[k], l) == 0)
			return l;
	}
	if (word_start && n >= 3 && s[0] == 's' && s[1] == 'k' && (s[2] == '-' || s[2] == '_'))
		return 3;
	return 0;
}

/* Shortest end of a text that is masked when the secret starts there (a shorter one tells nothing). */
#define SECRET_TAIL_MIN 4

/* Masks, in b, a trailing run that is a prefix of secret (sl bytes) of at least SECRET_TAIL_MIN bytes: what
 * is left of a key where a text was cut (by the provider, or by a length limit), before position end. */
static void mask_secret_tail(struct buf *b, size_t end, const char *secret, size_t sl)
{
	for (size_t l = sl - 1 < end ? sl - 1 : end; l >= SECRET_TAIL_MIN; l--) {
		if (memcmp(b->data + end - l, secret, l) != 0)
			continue;
		struct buf t = BUF_INIT;
		buf_append(&t, b->data, end - l);
		buf_puts(&t, "***");
		buf_append(&t, b->data + end, b->len - end);
		buf_free(b);
		*b = t;
		return;
	}
}

/* Every occurrence of secret (sl bytes, at least SECRET_TAIL_MIN) in b becomes "***", and so does a prefix
 * of it that ends the text. */
static void mask_secret(struct buf *b, const char *secret, size_t sl)
{
	struct buf t = BUF_INIT;
	const char *p = buf_str(b), *end = p + b->len, *hit;
	while ((hit = memmem(p, (size_t)(end - p), secret, sl)) != NULL) {
		buf_append(&t, p, (size_t)(hit - p));
		buf_puts(&t, "***");
		p = hit + sl;
	}
	buf_append(&t, p, (size_t)(end - p));
	buf_free(b);
	*b = t;
	mask_secret_tail(b, b->len, secret, sl);
}

static const char ellipsis[] = "\xE2\x80\xA6";

/* embed_clean_message, also masking secret (NULL: none) everywhere, before the cut to length: a key cut in
 * two by the cut would otherwise leave its first part behind, unrecognised. */
static char *clean_message(const char *s, size_t n, const char *secret)
{
	struct buf in = BUF_INIT, out = BUF_INIT;
	utf8_sanitize(s ? s : "", s ? n : 0, &in);
	size_t sl = secret ? strlen(secret) : 0;
	if (sl >= SECRET_TAIL_MIN)
		mask_secret(&in, secret, sl);
	const char *t = buf_str(&in);
	size_t m = in.len;
	for (size_t i = 0; i < m;) {
		unsigned char c = (unsigned char)t[i];
		if (c < 0x20 || c == 0x7F || c == ' ') { /* control characters become single spaces */
			if (out.len && out.data[out.len - 1] != ' ')
				buf_putc(&out, ' ');
			i++;
			continue;
		}
		bool word_start = i == 0 || !token_char((unsigned char)t[i - 1]);
		size_t p = secret_prefix(t + i, m - i, word_start);
		size_t run = p ? token_run(t + i + p, m - i - p) : 0;
		if (p && run >= 8) {
			buf_append(&out, t + i, p);
			buf_puts(&out, "***");
			i += p + run;
			continue;
		}
		buf_putc(&out, (char)c);
		i++;
	}
	buf_free(&in);
	if (out.len > EMBED_MESSAGE_MAX) {
		out.len = utf8_floor(out.data, out.len, EMBED_MESSAGE_MAX);
		out.data[out.len] = '\0';
		if (sl >= SECRET_TAIL_MIN)
			mask_secret_tail(&out, out.len, secret, sl);
		buf_puts(&out, ellipsis);
	}
	while (out.len && out.data[out.len - 1] == ' ')
		out.data[--out.len] = '\0';
	return buf_steal(&out);
}

char *embed_clean_message(const char *s, size_t n)
{
	return clean_message(s, n, NULL);
}

/* Fills *err, taking ownership of msg (cleaned here). */
static void set_error(struct embed_error *err, enum embed_status st, int http, char *msg)
{
	free(err->message);
	err->status = st;
	err->http_status = http;
	err->message = clean_message(msg, strlen(msg), err->secret);
	free(msg);
}

void embed_error_redact(struct embed_error *err, const char *secret)
{
	size_t sl = secret ? strlen(secret) : 0;
	if (!err->message || sl < SECRET_TAIL_MIN)
		return;
	struct buf b = BUF_INIT;
	buf_puts(&b, err->message);
	mask_secret(&b, secret, sl);
	size_t el = sizeof ellipsis - 1; /* a message cut to length ends in an ellipsis: look before it too */
	if (b.len >= el && memcmp(b.data + b.len - el, ellipsis, el) == 0)
		mask_secret_tail(&b, b.len - el, secret, sl);
	free(err->message);
	err->message = buf_steal(&b);
}

void embed_error_free(struct embed_error *err)
{
	free(err->message);
	*err = (struct embed_error)EMBED_ERROR_INIT;
}

void embed_result_free(struct embed_result *res)
{
	free(res->vectors);
	*res = (struct embed_result)EMBED_RESULT_INIT;
}

/* ---- classification ---- */

struct err_fields {
	const char *msg, *type, *code;
	char codebuf[24];
};

static const char *str_member(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) && json_string_length(v) ? json_string_value(v) : NULL;
}

static const char *code_member(json_t *obj, struct err_fields *f)
{
	json_t *v = json_object_get(obj, "code");
	if (json_is_integer(v)) {
		snprintf(f->codebuf, sizeof(f->codebuf), "%lld", (long long)json_integer_value(v));
		return f->codebuf;
	}
	return str_member(obj, "code");
}

/* OpenAI {"error":{message,type,code}}, Ollama {"error":"..."}, TEI {"error","error_type"},
 * vLLM {"object":"error","message","type","code"}, FastAPI {"detail":"..."}. */
static void error_fields(json_t *root, struct err_fields *f)
{
	json_t *e = json_object_get(root, "error");
	memset(f, 0, sizeof(*f));
	if (json_is_object(e)) {
		f->msg = str_member(e, "message");
		f->type = str_member(e, "type");
		f->code = code_member(e, f);
	} else if (json_is_string(e)) {
		f->msg = json_string_value(e);
		f->type = str_member(root, "error_type");
	} else {
		f->msg = str_member(root, "message");
		if (!f->msg)
			f->msg = str_member(root, "detail");
		f->type = str_member(root, "type");
		f->code = code_member(root, f);
	}
}

static bool field_is(const char *v, const char *want)
{
	return v && strcmp(v, want) == 0;
}

static bool field_has(const char *v, const char *want)
{
	return v && strstr(v, want);
}

static enum embed_status status_for(int http, const struct err_fields *f)
{
	if (field_is(f->type, "insufficient_quota") || field_is(f->code, "insufficient_quota") || http == 402)
		return EMBED_ERR_QUOTA;
	if (http == 429 || field_has(f->type, "rate_limit") || field_has(f->code, "rate_limit"))
		return EMBED_ERR_RATE_LIMITED;
	if ((http >= 500 && http <= 599) || http == 408 || http == 425 || (http >= 200 && http <= 299))
		return EMBED_ERR_SERVER;
	if (http >= 400 && http <= 499)
		return EMBED_ERR_CLIENT;
	return EMBED_ERR_PROTOCOL;
}

/* "Please try again in 1.5s." (OpenAI) or "retry after 5 seconds" (Azure) inside a message; -1 when absent. */
static int64_t message_retry_hint(const char *msg)
{
	const char *p = msg ? strcasestr(msg, "try again in ") : NULL;
	if (p) {
		p += strlen("try again in ");
		char tmp[32];
		size_t n = 0;
		while (p[n] && p[n] != ' ' && p[n] != ',' && n < sizeof(tmp) - 1)
			n++;
		memcpy(tmp, p, n);
		while (n && tmp[n - 1] == '.')
			n--;
		tmp[n] = '\0';
		return embed_duration_ms(tmp);
	}
	p = msg ? strcasestr(msg, "retry after ") : NULL;
	if (p) {
		char *end;
		long long secs = strtoll(p + strlen("retry after "), &end, 10);
		if (end != p + strlen("retry after ") && secs >= 0 && strncasecmp(end, " second", 7) == 0)
			return secs > CAP_MS / 1000 ? CAP_MS : secs * 1000;
	}
	return -1;
}

static enum embed_status classify_root(int http, json_t *root, const char *body, size_t len,
                                       struct embed_error *err)
{
	struct err_fields f;
	if (root)
		error_fields(root, &f);
	else
		memset(&f, 0, sizeof(f));
	enum embed_status st = status_for(http, &f);
	const char *label = f.code ? f.code : f.type;
	struct buf b = BUF_INIT;
	buf_printf(&b, "HTTP %d", http);
	if (label)
		buf_printf(&b, " (%s)", label);
	buf_puts(&b, ": ");
	if (f.msg)
		buf_puts(&b, f.msg);
	else if (len)
		buf_append(&b, body, len < 4 * EMBED_MESSAGE_MAX ? len : 4 * EMBED_MESSAGE_MAX);
	else
		buf_puts(&b, "(empty body)");
	set_error(err, st, http, buf_steal(&b));
	err->retry_after_ms = message_retry_hint(f.msg);
	return st;
}

enum embed_status embed_classify(int http_status, const char *body, size_t len, struct embed_error *err)
{
	if (!body)
		body = "", len = 0;
	json_t *root = json_loadb(body, len, 0, NULL);
	enum embed_status st = classify_root(http_status, json_is_object(root) ? root : NULL, body, len, err);
	json_decref(root);
	return st;
}

/* ---- responses ---- */

static int protocol_error(struct embed_error *err, char *msg)
{
	set_error(err, EMBED_ERR_PROTOCOL, 200, msg);
	return -1;
}

/* Copies one JSON array of numbers into dst[0..dim). */
static int read_vector(json_t *arr, int dim, float *dst, const char *what, size_t which, struct embed_error *err)
{
	if (json_is_string(arr))
		return protocol_error(err, xasprintf("%s[%zu] is a string, not an array of floats (base64 encoding?)",
		                                     what, which));
	if (!json_is_array(arr))
		return protocol_error(err, xasprintf("%s[%zu] is missing or not an array", what, which));
	size_t got = json_array_size(arr);
	if (got != (size_t)dim) {
		char *msg = xasprintf("provider returned %zu-dimensional vectors, configured embed.dimension is %d", got, dim);
		set_error(err, EMBED_ERR_DIMENSION, 200, msg);
		return -1;
	}
	for (size_t k = 0; k < got; k++) {
		json_t *x = json_array_get(arr, k);
		double d;
		if (json_is_real(x))
			d = json_real_value(x);
		else if (json_is_integer(x))
			d = (double)json_integer_value(x);
		else
			return protocol_error(err, xasprintf("%s[%zu] element %zu is not a number", what, which, k));
		if (!(d >= -FLT_MAX && d <= FLT_MAX))
			return protocol_error(err, xasprintf("%s[%zu] element %zu is not a finite float", what, which, k));
		dst[k] = (float)d;
	}
	return 0;
}

/* Parses body into an object; handles bad arguments and error objects inside a 2xx body. */
static json_t *load_response(const char *body, size_t len, size_t expect, int dim, struct embed_error *err)
{
	if (expect == 0 || dim <= 0 || expect > SIZE_MAX / sizeof(float) / (size_t)dim) {
		protocol_error(err, xasprintf("internal: bad request shape (%zu inputs, dimension %d)", expect, dim));
		return NULL;
	}
	json_error_t je;
	json_t *root = json_loadb(body ? body : "", body ? len : 0, 0, &je);
	if (!root) {
		protocol_error(err, xasprintf("malformed JSON in the response at byte %d: %s", je.position, je.text));
		return NULL;
	}
	if (!json_is_object(root)) {
		protocol_error(err, xasprintf("the response is not a JSON object"));
	} else if (json_object_get(root, "error") && !json_is_null(json_object_get(root, "error"))) {
		classify_root(200, root, body, len, err);
	} else {
		return root;
	}
	json_decref(root);
	return NULL;
}

static int64_t usage_member(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_integer(v) && json_integer_value(v) >= 0 ? (int64_t)json_integer_value(v) : -1;
}

static int count_error(struct embed_error *err, size_t got, size_t expect)
{
	return protocol_error(err, xasprintf("provider returned %zu embeddings for %zu inputs", got, expect));
}

/* Places data[i] by its index; 0, or -1 with *err set. */
static int openai_items(json_t *data, size_t expect, int dim, float *vec, struct embed_error *err)
{
	bool *seen = xcalloc(expect, sizeof(*seen));
	int rc = 0;
	for (size_t i = 0; i < expect && rc == 0; i++) {
		json_t *item = json_array_get(data, i);
		json_t *ix = json_object_get(item, "index");
		size_t slot = i;
		if (!json_is_object(item)) {
			rc = protocol_error(err, xasprintf("data[%zu] is not an object", i));
		} else if (ix && (!json_is_integer(ix) || json_integer_value(ix) < 0 ||
		                  (uint64_t)json_integer_value(ix) >= expect)) {
			rc = protocol_error(err, xasprintf("data[%zu].index is not an integer from 0 to %zu", i, expect - 1));
		} else {
			if (ix)
				slot = (size_t)json_integer_value(ix);
			if (seen[slot])
				rc = protocol_error(err, xasprintf("data[%zu].index %zu appears twice", i, slot));
			else
				rc = read_vector(json_object_get(item, "embedding"), dim, vec + slot * (size_t)dim, "data", i,
				                 err);
			seen[slot] = true;
		}
	}
	free(seen);
	return rc;
}

int embed_openai_parse(const char *body, size_t len, size_t expect, int dim, struct embed_result *res,
                       struct embed_error *err)
{
	*res = (struct embed_result)EMBED_RESULT_INIT;
	json_t *root = load_response(body, len, expect, dim, err);
	if (!root)
		return -1;
	json_t *data = json_object_get(root, "data");
	int rc;
	if (!json_is_array(data)) {
		rc = protocol_error(err, xasprintf("the response has no \"data\" array"));
	} else if (json_array_size(data) != expect) {
		rc = count_error(err, json_array_size(data), expect);
	} else {
		float *vec = xmalloc(expect * (size_t)dim * sizeof(*vec));
		rc = openai_items(data, expect, dim, vec, err);
		if (rc == 0) {
			json_t *usage = json_object_get(root, "usage");
			res->count = expect;
			res->dim = dim;
			res->vectors = vec;
			res->prompt_tokens = usage_member(usage, "prompt_tokens");
			res->total_tokens = usage_member(usage, "total_tokens");
		} else {
			free(vec);
		}
	}
	json_decref(root);
	return rc;
}

int embed_ollama_parse(const char *body, size_t len, size_t expect, int dim, struct embed_result *res,
                       struct embed_error *err)
{
	*res = (struct embed_result)EMBED_RESULT_INIT;
	json_t *root = load_response(body, len, expect, dim, err);
	if (!root)
		return -1;
	json_t *embs = json_object_get(root, "embeddings");
	int rc = 0;
	if (!json_is_array(embs)) {
		rc = protocol_error(err, xasprintf("the response has no \"embeddings\" array"));
	} else if (json_array_size(embs) != expect) {
		rc = count_error(err, json_array_size(embs), expect);
	} else {
		float *vec = xmalloc(expect * (size_t)dim * sizeof(*vec));
		for (size_t i = 0; i < expect && rc == 0; i++)
			rc = read_vector(json_array_get(embs, i), dim, vec + i * (size_t)dim, "embeddings", i, err);
		if (rc == 0) {
			res->count = expect;
			res->dim = dim;
			res->vectors = vec;
			res->prompt_tokens = res->total_tokens = usage_member(root, "prompt_eval_count");
		} else {
			free(vec);
		}
	}
	json_decref(root);
	return rc;
}

enum embed_status embed_wire_response(enum embed_provider provider, int http_status, const char *body, size_t len,
                                      size_t expect, int dim, struct embed_result *res, struct embed_error *err)
{
	*res = (struct embed_result)EMBED_RESULT_INIT;
	if (http_status < 200 || http_status > 299)
		return embed_classify(http_status, body, len, err);
	int rc = provider == EMBED_PROVIDER_OLLAMA ? embed_ollama_parse(body, len, expect, dim, res, err)
	                                           : embed_openai_parse(body, len, expect, dim, res, err);
	return rc == 0 ? EMBED_OK : err->status;
}

/* ---- retry hints ---- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads digits [. digits] at *p into *v; false when there is no digit. */
static bool read_decimal(const char **p, double *v)
{
	const char *s = *p;
	double x = 0, scale = 1;
	bool any = false;
	for (; is_digit(*s); s++, any = true)
		x = x * 10 + (*s - '0');
	if (*s == '.')
		for (s++; is_digit(*s); s++, any = true)
			x += (*s - '0') * (scale /= 10);
	*p = s;
	*v = x;
	return any;
}

static int64_t ms_ceil_capped(double ms)
{
	if (ms >= (double)CAP_MS)
		return CAP_MS;
	int64_t i = (int64_t)ms;
	return i + ((double)i < ms);
}

int64_t embed_duration_ms(const char *value)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = {
		{"ms", 1}, {"us", 1e-3}, {"\xC2\xB5s", 1e-3}, {"ns", 1e-6}, {"h", 3600e3}, {"m", 60e3}, {"s", 1e3},
	};
	const char *p = value;
	double total = 0;
	bool any = false;
	if (!p)
		return -1;
	while (*p == ' ')
		p++;
	while (*p && *p != ' ') {
		double x;
		if (!read_decimal(&p, &x))
			return -1;
		size_t k, n = sizeof(units) / sizeof(units[0]);
		for (k = 0; k < n; k++)
			if (strncmp(p, units[k].unit, strlen(units[k].unit)) == 0)
				break;
		if (k == n && !any && (*p == '\0' || *p == ' ')) { /* a bare number: seconds */
			total = x * 1e3;
			any = true;
			break;
		}
		if (k == n)
			return -1;
		p += strlen(units[k].unit);
		total += x * units[k].ms;
		any = true;
	}
	while (*p == ' ')
		p++;
	return any && !*p ? ms_ceil_capped(total) : -1;
}

static int month_index(const char *s)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	for (int m = 0; m < 12; m++)
		if (strncmp(s, months + 3 * m, 3) == 0)
			return m;
	return -1;
}

/* Reads 1..maxd digits into *v. */
static bool read_int(const char **p, int maxd, int *v)
{
	int n = 0, x = 0;
	while (n < maxd && is_digit((*p)[n]))
		x = x * 10 + ((*p)[n++] - '0');
	*p += n;
	*v = x;
	return n > 0;
}

static bool read_clock(const char **p, struct tm *tm)
{
	return read_int(p, 2, &tm->tm_hour) && *(*p)++ == ':' && read_int(p, 2, &tm->tm_min) && *(*p)++ == ':' &&
	       read_int(p, 2, &tm->tm_sec) && tm->tm_hour < 24 && tm->tm_min < 60 && tm->tm_sec <= 60;
}

/* "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT" or "Sun Nov  6 08:49:37 1994". */
static bool parse_http_date(const char *p, time_t *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	int year, mon;
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
		p++;
	if (*p == ',') {
		p++;
		while (*p == ' ')
			p++;
		char sep;
		if (!read_int(&p, 2, &tm.tm_mday) || (*p != ' ' && *p != '-'))
			return false;
		sep = *p++;
		if ((mon = month_index(p)) < 0 || p[3] != sep)
			return false;
		p += 4;
		const char *y = p;
		if (!read_int(&p, 4, &year))
			return false;
		if (p - y == 2) /* two-digit year of the RFC 850 form */
			year += year < 70 ? 2000 : 1900;
		if (*p++ != ' ' || !read_clock(&p, &tm))
			return false;
		while (*p == ' ')
			p++;
		if (strncmp(p, "GMT", 3) == 0 || strncmp(p, "UTC", 3) == 0)
			p += 3;
	} else {
		while (*p == ' ')
			p++;
		if ((mon = month_index(p)) < 0)
			return false;
		for (p += 3; *p == ' ';)
			p++;
		if (!read_int(&p, 2, &tm.tm_mday) || *p++ != ' ' || !read_clock(&p, &tm) || *p++ != ' ' ||
		    !read_int(&p, 4, &year))
			return false;
	}
	while (*p == ' ')
		p++;
	if (*p || tm.tm_mday < 1 || tm.tm_mday > 31 || year < 1970)
		return false;
	tm.tm_mon = mon;
	tm.tm_year = year - 1900;
	*out = timegm(&tm);
	return *out != (time_t)-1;
}

int64_t embed_retry_after_ms(const char *value, time_t now)
{
	if (!value)
		return -1;
	while (*value == ' ' || *value == '\t')
		value++;
	if (is_digit(*value)) {
		const char *p = value;
		double secs;
		read_decimal(&p, &secs);
		while (*p == ' ' || *p == '\t')
			p++;
		return *p ? -1 : ms_ceil_capped(secs * 1e3);
	}
	time_t at;
	if (!parse_http_date(value, &at))
		return -1;
	if (at <= now)
		return 0;
	return (int64_t)(at - now) > CAP_MS / 1000 ? CAP_MS : (int64_t)(at - now) * 1000;
}

/* ---- batching ---- */

size_t embed_estimate_tokens(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t quarters = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];
		if (c < 0x80)
			quarters += 1;
		else if (c >= 0xE0)
			quarters += 4;
		else if (c >= 0xC0)
			quarters += 2;
		/* continuation bytes add nothing */
	}
	return (quarters + 3) / 4;
}

size_t embed_batch_take(const size_t *tokens, size_t n, size_t max_count, size_t max_tokens)
{
	size_t k = 0, sum = 0;
	while (k < n && (max_count == 0 || k < max_count)) {
		if (max_tokens && k > 0 && (sum > max_tokens || tokens[k] > max_tokens - sum))
			break;
		sum += tokens[k];
		k++;
	}
	return k;
}

char *embed_endpoint_url(enum embed_provider p, const char *base)
{
	if (!base || !*base)
		base = p == EMBED_PROVIDER_OLLAMA ? "http://127.0.0.1:11434" : "https://api.openai.com";
	size_t n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	if (p == EMBED_PROVIDER_OLLAMA)
		return xasprintf("%.*s/api/embed", (int)n, base);
	if (n >= 3 && strncmp(base + n - 3, "/v1", 3) == 0)
		return xasprintf("%.*s/embeddings", (int)n, base);
	return xasprintf("%.*s/v1/embeddings", (int)n, base);
}
