/* Unit tests: embedding wire formats (requests, responses, error classification, retry hints, batching). */
#include "lib/embed/embed_wire.h"
#include "testlib.h"
#include "lib/text/utf8.h"
#include "lib/util/mem.h"

#include <jansson.h>
#include <stdlib.h>

/* ---- requests ---- */

TEST(openai_request_body)
{
	const char *texts[] = {"hello", "w\xC3\xB6rld \"q\"\n"};
	size_t lens[] = {5, strlen(texts[1])};
	char *body = embed_openai_request("text-embedding-3-small", texts, lens, 2, 0);
	json_t *j = json_loads(body, 0, NULL);
	ASSERT_TRUE(json_is_object(j));
	ASSERT_STR_EQ(json_string_value(json_object_get(j, "model")), "text-embedding-3-small");
	ASSERT_STR_EQ(json_string_value(json_object_get(j, "encoding_format")), "float");
	ASSERT_TRUE(json_object_get(j, "dimensions") == NULL);
	json_t *in = json_object_get(j, "input");
	ASSERT_INT_EQ(json_array_size(in), 2);
	ASSERT_STR_EQ(json_string_value(json_array_get(in, 1)), texts[1]);
	json_decref(j);
	free(body);

	body = embed_openai_request("m", texts, lens, 1, 768);
	ASSERT_STR_CONTAINS(body, "\"dimensions\":768");
	ASSERT_STR_CONTAINS(body, "\"input\":[\"hello\"]");
	free(body);
}

TEST(requests_repair_invalid_utf8)
{
	const char *texts[] = {"a\xFF" "b\0c"};
	size_t lens[] = {5};
	char *body = embed_ollama_request("nomic-embed-text", texts, lens, 1);
	json_t *j = json_loads(body, 0, NULL);
	ASSERT_TRUE(j != NULL);
	ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(j, "input"), 0)), "a\xEF\xBF\xBD" "bc");
	ASSERT_STR_EQ(json_string_value(json_object_get(j, "model")), "nomic-embed-text");
	ASSERT_TRUE(json_object_get(j, "encoding_format") == NULL);
	json_decref(j);
	free(body);
}

/* ---- OpenAI responses ---- */

static int oparse(const char *body, size_t expect, int dim, struct embed_result *res, struct embed_error *err)
{
	*err = (struct embed_error)EMBED_ERROR_INIT;
	return embed_openai_parse(body, strlen(body), expect, dim, res, err);
}

TEST(openai_parse_orders_by_index)
{
	const char *body = "{\"object\":\"list\",\"data\":["
	                   "{\"object\":\"embedding\",\"index\":1,\"embedding\":[0.5,-0.25,1]},"
	                   "{\"object\":\"embedding\",\"index\":0,\"embedding\":[0.125,2e-3,-7]}],"
	                   "\"model\":\"m\",\"usage\":{\"prompt_tokens\":9,\"total_tokens\":9}}";
	struct embed_result r;
	struct embed_error e;
	ASSERT_INT_EQ(oparse(body, 2, 3, &r, &e), 0);
	ASSERT_INT_EQ(r.count, 2);
	ASSERT_INT_EQ(r.dim, 3);
	ASSERT_TRUE(r.vectors[0] == 0.125f && r.vectors[1] == 2e-3f && r.vectors[2] == -7.0f);
	ASSERT_TRUE(r.vectors[3] == 0.5f && r.vectors[4] == -0.25f && r.vectors[5] == 1.0f);
	ASSERT_INT_EQ(r.prompt_tokens, 9);
	ASSERT_INT_EQ(r.total_tokens, 9);
	ASSERT_TRUE(e.message == NULL);
	embed_result_free(&r);
	ASSERT_TRUE(r.vectors == NULL);
}

TEST(openai_parse_without_index_or_usage)
{
	struct embed_result r;
	struct embed_error e;
	ASSERT_INT_EQ(oparse("{\"data\":[{\"embedding\":[1,2]},{\"embedding\":[3,4]}]}", 2, 2, &r, &e), 0);
	ASSERT_TRUE(r.vectors[0] == 1.0f && r.vectors[3] == 4.0f);
	ASSERT_INT_EQ(r.prompt_tokens, -1);
	ASSERT_INT_EQ(r.total_tokens, -1);
	embed_result_free(&r);
}

/* The body must fail with the given status and a message containing fragment; nothing leaks into *res. */
static void expect_fail(int ollama, const char *body, size_t len, size_t expect, int dim, enum embed_status st,
                        const char *fragment)
{
	struct embed_result r;
	struct embed_error e = EMBED_ERROR_INIT;
	int rc = ollama ? embed_ollama_parse(body, len, expect, dim, &r, &e)
	                : embed_openai_parse(body, len, expect, dim, &r, &e);
	ASSERT_INT_EQ(rc, -1);
	ASSERT_TRUE(r.vectors == NULL && r.count == 0);
	if (e.status != st)
		TEST_FAIL_AT("status %s, expected %s (%s)", embed_status_name(e.status), embed_status_name(st),
		             e.message ? e.message : "");
	ASSERT_STR_CONTAINS(e.message, fragment);
	ASSERT_TRUE(e.message && utf8_is_clean(e.message, strlen(e.message)));
	embed_error_free(&e);
}

#define OPENAI_FAIL(body, expect, dim, st, frag) expect_fail(0, body, strlen(body), expect, dim, st, frag)
#define OLLAMA_FAIL(body, expect, dim, st, frag) expect_fail(1, body, strlen(body), expect, dim, st, frag)

TEST(openai_parse_rejects_malformed)
{
	const char *good = "{\"data\":[{\"index\":0,\"embedding\":[0.1,0.2]}],\"usage\":{\"prompt_tokens\":1}}";
	expect_fail(0, good, strlen(good) / 2, 1, 2, EMBED_ERR_PROTOCOL, "malformed JSON"); /* truncated */
	expect_fail(0, good, 0, 1, 2, EMBED_ERR_PROTOCOL, "malformed JSON");                 /* empty */
	expect_fail(0, NULL, 0, 1, 2, EMBED_ERR_PROTOCOL, "malformed JSON");
	OPENAI_FAIL("not json", 1, 2, EMBED_ERR_PROTOCOL, "malformed JSON");
	OPENAI_FAIL("[1,2]", 1, 2, EMBED_ERR_PROTOCOL, "not a JSON object");
	OPENAI_FAIL("{\"object\":\"list\"}", 1, 2, EMBED_ERR_PROTOCOL, "no \"data\" array");
	OPENAI_FAIL("{\"data\":{}}", 1, 2, EMBED_ERR_PROTOCOL, "no \"data\" array");
	OPENAI_FAIL("{\"data\":[7]}", 1, 2, EMBED_ERR_PROTOCOL, "data[0] is not an object");
	OPENAI_FAIL("{\"data\":[{\"index\":0}]}", 1, 2, EMBED_ERR_PROTOCOL, "data[0] is missing");
	OPENAI_FAIL("{\"data\":[{\"embedding\":\"AAAAAA==\"}]}", 1, 2, EMBED_ERR_PROTOCOL, "base64");
}

TEST(openai_parse_rejects_wrong_count_and_dimension)
{
	OPENAI_FAIL("{\"data\":[{\"index\":0,\"embedding\":[1,2]}]}", 2, 2, EMBED_ERR_PROTOCOL,
	            "provider returned 1 embeddings for 2 inputs");
	OPENAI_FAIL("{\"data\":[]}", 1, 2, EMBED_ERR_PROTOCOL, "returned 0 embeddings for 1 inputs");
	OPENAI_FAIL("{\"data\":[{\"index\":0,\"embedding\":[1,2,3,4]}]}", 1, 3, EMBED_ERR_DIMENSION,
	            "provider returned 4-dimensional vectors, configured embed.dimension is 3");

	struct buf b = BUF_INIT;
	buf_puts(&b, "{\"data\":[{\"index\":0,\"embedding\":[");
	for (int i = 0; i < 1536; i++)
		buf_printf(&b, "%s0.01", i ? "," : "");
	buf_puts(&b, "]}]}");
	OPENAI_FAIL(buf_str(&b), 1, 768, EMBED_ERR_DIMENSION,
	            "provider returned 1536-dimensional vectors, configured embed.dimension is 768");
	struct embed_result r;
	struct embed_error e;
	ASSERT_INT_EQ(oparse(buf_str(&b), 1, 1536, &r, &e), 0);
	ASSERT_TRUE(r.vectors[1535] == 0.01f);
	embed_result_free(&r);
	buf_free(&b);
}

TEST(openai_parse_rejects_bad_indexes)
{
	OPENAI_FAIL("{\"data\":[{\"index\":0,\"embedding\":[1]},{\"index\":0,\"embedding\":[2]}]}", 2, 1,
	            EMBED_ERR_PROTOCOL, "data[1].index 0 appears twice");
	OPENAI_FAIL("{\"data\":[{\"index\":2,\"embedding\":[1]},{\"index\":0,\"embedding\":[2]}]}", 2, 1,
	            EMBED_ERR_PROTOCOL, "data[0].index is not an integer from 0 to 1");
	OPENAI_FAIL("{\"data\":[{\"index\":-1,\"embedding\":[1]}]}", 1, 1, EMBED_ERR_PROTOCOL, "index");
	OPENAI_FAIL("{\"data\":[{\"index\":\"0\",\"embedding\":[1]}]}", 1, 1, EMBED_ERR_PROTOCOL, "index");
	OPENAI_FAIL("{\"data\":[{\"index\":0.5,\"embedding\":[1]}]}", 1, 1, EMBED_ERR_PROTOCOL, "index");
}

TEST(openai_parse_rejects_non_numeric_and_non_finite)
{
	OPENAI_FAIL("{\"data\":[{\"embedding\":[0.1,\"x\",0.3]}]}", 1, 3, EMBED_ERR_PROTOCOL,
	            "data[0] element 1 is not a number");
	OPENAI_FAIL("{\"data\":[{\"embedding\":[0.1,null]}]}", 1, 2, EMBED_ERR_PROTOCOL, "element 1 is not a number");
	OPENAI_FAIL("{\"data\":[{\"embedding\":[true,0]}]}", 1, 2, EMBED_ERR_PROTOCOL, "element 0 is not a number");
	OPENAI_FAIL("{\"data\":[{\"embedding\":[[0.1],0]}]}", 1, 2, EMBED_ERR_PROTOCOL, "element 0 is not a number");
	OPENAI_FAIL("{\"data\":[{\"embedding\":[0.1,NaN]}]}", 1, 2, EMBED_ERR_PROTOCOL, "malformed JSON");
	OPENAI_FAIL("{\"data\":[{\"embedding\":[Infinity,0]}]}", 1, 2, EMBED_ERR_PROTOCOL, "malformed JSON");
	OPENAI_FAIL("{\"data\":[{\"embedding\":[1e999,0]}]}", 1, 2, EMBED_ERR_PROTOCOL, "malformed JSON");
	OPENAI_FAIL("{\"data\":[{\"embedding\":[0,-1e39]}]}", 1, 2, EMBED_ERR_PROTOCOL,
	            "element 1 is not a finite float");
	OPENAI_FAIL("{\"data\":[{\"embedding\":[0,3.5e38]}]}", 1, 2, EMBED_ERR_PROTOCOL, "not a finite float");
	struct embed_result r;
	struct embed_error e;
	ASSERT_INT_EQ(oparse("{\"data\":[{\"embedding\":[3.4e38,-5,1e-50]}]}", 1, 3, &r, &e), 0);
	ASSERT_TRUE(r.vectors[0] > 3.3e38f && r.vectors[1] == -5.0f && r.vectors[2] == 0.0f);
	embed_result_free(&r);
}

TEST(openai_error_inside_2xx_body)
{
	OPENAI_FAIL("{\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\"}}", 1, 2,
	            EMBED_ERR_SERVER, "HTTP 200 (server_error): The server had an error");
}

/* ---- Ollama responses ---- */

TEST(ollama_parse)
{
	const char *body = "{\"model\":\"nomic-embed-text\",\"embeddings\":[[0.1,0.2],[0.3,-0.4]],"
	                   "\"total_duration\":14143917,\"prompt_eval_count\":8}";
	struct embed_result r;
	struct embed_error e = EMBED_ERROR_INIT;
	ASSERT_INT_EQ(embed_ollama_parse(body, strlen(body), 2, 2, &r, &e), 0);
	ASSERT_TRUE(r.vectors[0] == 0.1f && r.vectors[3] == -0.4f);
	ASSERT_INT_EQ(r.prompt_tokens, 8);
	embed_result_free(&r);

	OLLAMA_FAIL("{\"embeddings\":[[0.1,0.2]]}", 2, 2, EMBED_ERR_PROTOCOL, "returned 1 embeddings for 2 inputs");
	OLLAMA_FAIL("{\"embeddings\":[[0.1,0.2],[0.3]]}", 2, 2, EMBED_ERR_DIMENSION,
	            "provider returned 1-dimensional vectors, configured embed.dimension is 2");
	OLLAMA_FAIL("{\"embedding\":[0.1,0.2]}", 1, 2, EMBED_ERR_PROTOCOL, "no \"embeddings\" array");
	OLLAMA_FAIL("{\"embeddings\":[[0.1,\"0.2\"]]}", 1, 2, EMBED_ERR_PROTOCOL, "embeddings[0] element 1");
	OLLAMA_FAIL("{\"embeddings\":[{}]}", 1, 2, EMBED_ERR_PROTOCOL, "embeddings[0] is missing or not an array");
	OLLAMA_FAIL("{\"embeddings\":[[0.1,0.2]", 1, 2, EMBED_ERR_PROTOCOL, "malformed JSON");
	OLLAMA_FAIL("{\"error\":\"llama runner process has terminated\"}", 1, 2, EMBED_ERR_SERVER,
	            "llama runner process has terminated");
}

/* ---- classification ---- */

static enum embed_status classify(int http, const char *body, struct embed_error *e)
{
	*e = (struct embed_error)EMBED_ERROR_INIT;
	return embed_classify(http, body, body ? strlen(body) : 0, e);
}

/* True when text holds any run of 8 or more bytes of key. */
static bool has_key_piece(const char *text, const char *key)
{
	size_t kl = strlen(key);
	for (size_t i = 0; i + 8 <= kl; i++)
		if (memmem(text, strlen(text), key + i, 8))
			return true;
	return false;
}

/* A provider echoing the key, as a 401 might: in JSON, in plain text, at the 500-byte cut, cut short. */
TEST(the_api_key_is_masked_before_the_message_is_cut)
{
	/* no "sk-" prefix and characters outside [A-Za-z0-9._-], so no pattern rule would catch it */
	const char *key = "Zq7+xP/4Lm9=Rt2wKv8!Hs5nJd3Fg6Yb1Cu0Qe";
	for (size_t pad = 440; pad <= 520; pad++) { /* the key runs across the cut at every offset */
		struct buf body = BUF_INIT, filler = BUF_INIT;
		for (size_t i = 0; i < pad; i++)
			buf_putc(&filler, (char)('a' + i % 26));
		buf_printf(&body, "{\"error\":{\"message\":\"%s %s is not a valid key\",\"code\":\"invalid_api_key\"}}",
		           buf_str(&filler), key);
		struct embed_error e = EMBED_ERROR_INIT;
		e.secret = key;
		ASSERT_INT_EQ(embed_classify(401, body.data, body.len, &e), EMBED_ERR_CLIENT);
		if (has_key_piece(e.message, key))
			TEST_FAIL_AT("a piece of the key is left at pad %zu: %s", pad, e.message);
		ASSERT_TRUE(strlen(e.message) <= EMBED_MESSAGE_MAX + 3);
		embed_error_free(&e);
		/* plain text, not JSON */
		buf_reset(&body);
		buf_printf(&body, "%s Authorization: Bearer %s", buf_str(&filler), key);
		e = (struct embed_error)EMBED_ERROR_INIT;
		e.secret = key;
		embed_classify(401, body.data, body.len, &e);
		if (has_key_piece(e.message, key))
			TEST_FAIL_AT("a piece of the key is left in plain text at pad %zu: %s", pad, e.message);
		embed_error_free(&e);
		buf_free(&body);
		buf_free(&filler);
	}
	/* the provider cut the key short itself: its first part ends the message */
	struct embed_error e = EMBED_ERROR_INIT;
	e.secret = key;
	const char *cut = "{\"error\":\"bad key Zq7+xP/4Lm9=Rt2\"}";
	embed_classify(401, cut, strlen(cut), &e);
	ASSERT_STR_EQ(e.message, "HTTP 401: bad key ***");
	embed_error_free(&e);
	/* embed_error_redact, for messages built without the secret: whole keys and a cut one before the "…" */
	e.message = xasprintf("key %s and again %.12s\xE2\x80\xA6", key, key);
	embed_error_redact(&e, key);
	ASSERT_STR_EQ(e.message, "key *** and again ***\xE2\x80\xA6");
	embed_error_free(&e);
	/* a short run that merely looks like the key's start is left alone */
	e.message = xstrdup("ends in Zq7");
	embed_error_redact(&e, key);
	ASSERT_STR_EQ(e.message, "ends in Zq7");
	embed_error_free(&e);
}

TEST(classify_quota_is_not_rate_limit)
{
	struct embed_error e;
	const char *quota = "{\"error\":{\"message\":\"You exceeded your current quota, please check your plan and "
	                    "billing details.\",\"type\":\"insufficient_quota\",\"param\":null,"
	                    "\"code\":\"insufficient_quota\"}}";
	ASSERT_INT_EQ(classify(429, quota, &e), EMBED_ERR_QUOTA);
	ASSERT_INT_EQ(e.http_status, 429);
	ASSERT_TRUE(!embed_status_retryable(e.status));
	ASSERT_STR_CONTAINS(e.message, "HTTP 429 (insufficient_quota): You exceeded your current quota");
	embed_error_free(&e);
	/* the type alone is enough, and so is the code alone */
	ASSERT_INT_EQ(classify(429, "{\"error\":{\"message\":\"q\",\"type\":\"insufficient_quota\"}}", &e),
	              EMBED_ERR_QUOTA);
	embed_error_free(&e);
	ASSERT_INT_EQ(classify(403, "{\"error\":{\"message\":\"q\",\"code\":\"insufficient_quota\"}}", &e),
	              EMBED_ERR_QUOTA);
	embed_error_free(&e);
	ASSERT_INT_EQ(classify(402, "{\"error\":\"Insufficient credits\"}", &e), EMBED_ERR_QUOTA);
	embed_error_free(&e);

	const char *rate = "{\"error\":{\"message\":\"Rate limit reached for text-embedding-3-small in organization "
	                   "org-x on tokens per min (TPM): Limit 1000000, Used 999000, Requested 3000. Please try "
	                   "again in 20ms.\",\"type\":\"tokens\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}";
	ASSERT_INT_EQ(classify(429, rate, &e), EMBED_ERR_RATE_LIMITED);
	ASSERT_TRUE(embed_status_retryable(e.status));
	ASSERT_INT_EQ(e.retry_after_ms, 20);
	ASSERT_STR_CONTAINS(e.message, "HTTP 429 (rate_limit_exceeded): Rate limit reached");
	embed_error_free(&e);
}

TEST(classify_rate_limit_variants)
{
	struct embed_error e;
	ASSERT_INT_EQ(classify(429, "{\"error\":{\"message\":\"Please try again in 6m0s.\"}}", &e),
	              EMBED_ERR_RATE_LIMITED);
	ASSERT_INT_EQ(e.retry_after_ms, 360000);
	embed_error_free(&e);
	ASSERT_INT_EQ(classify(429, "{\"error\":{\"message\":\"Please try again in 1.5s.\"}}", &e),
	              EMBED_ERR_RATE_LIMITED);
	ASSERT_INT_EQ(e.retry_after_ms, 1500);
	embed_error_free(&e);
	ASSERT_INT_EQ(classify(429, "{\"error\":{\"code\":\"429\",\"message\":\"Requests to the Embeddings_Create "
	                            "Operation have exceeded call rate limit. Please retry after 5 seconds.\"}}", &e),
	              EMBED_ERR_RATE_LIMITED);
	ASSERT_INT_EQ(e.retry_after_ms, 5000);
	embed_error_free(&e);
	ASSERT_INT_EQ(classify(429, "Too Many Requests", &e), EMBED_ERR_RATE_LIMITED);
	ASSERT_INT_EQ(e.retry_after_ms, -1);
	ASSERT_STR_EQ(e.message, "HTTP 429: Too Many Requests");
	embed_error_free(&e);
	ASSERT_INT_EQ(classify(400, "{\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit_error\"}}", &e),
	              EMBED_ERR_RATE_LIMITED);
	embed_error_free(&e);
}

TEST(classify_server_client_protocol)
{
	struct embed_error e;
	ASSERT_INT_EQ(classify(500, "{\"error\":{\"message\":\"internal\",\"type\":\"server_error\"}}", &e),
	              EMBED_ERR_SERVER);
	embed_error_free(&e);
	ASSERT_INT_EQ(classify(502, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n</html>", &e),
	              EMBED_ERR_SERVER);
	ASSERT_STR_EQ(e.message, "HTTP 502: <html> <head><title>502 Bad Gateway</title></head> </html>");
	embed_error_free(&e);
	ASSERT_INT_EQ(classify(503, "", &e), EMBED_ERR_SERVER);
	ASSERT_STR_EQ(e.message, "HTTP 503: (empty body)");
	embed_error_free(&e);
	ASSERT_INT_EQ(classify(408, NULL, &e), EMBED_ERR_SERVER);
	embed_error_free(&e);
	ASSERT_INT_EQ(classify(404, "{\"error\":\"model \\\"nomic\\\" not found, try pulling it first\"}", &e),
	              EMBED_ERR_CLIENT);
	ASSERT_STR_EQ(e.message, "HTTP 404: model \"nomic\" not found, try pulling it first");
	embed_error_free(&e);
	ASSERT_INT_EQ(classify(400, "{\"object\":\"error\",\"message\":\"This model's maximum context length is 8192 "
	                            "tokens\",\"type\":\"BadRequestError\",\"param\":null,\"code\":400}", &e),
	              EMBED_ERR_CLIENT);
	ASSERT_STR_CONTAINS(e.message, "HTTP 400 (400): This model's maximum context length");
	embed_error_free(&e);
	ASSERT_INT_EQ(classify(422, "{\"detail\":\"input must not be empty\"}", &e), EMBED_ERR_CLIENT);
	ASSERT_STR_EQ(e.message, "HTTP 422: input must not be empty");
	embed_error_free(&e);
	ASSERT_INT_EQ(classify(302, "", &e), EMBED_ERR_PROTOCOL);
	embed_error_free(&e);
}

TEST(messages_hide_keys_and_are_clean)
{
	struct embed_error e;
	const char *bad_key = "{\"error\":{\"message\":\"Incorrect API key provided: sk-proj-AbCdEf0123456789xyz. "
	                      "You can find your API key at https://platform.openai.com/account/api-keys.\","
	                      "\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}";
	ASSERT_INT_EQ(classify(401, bad_key, &e), EMBED_ERR_CLIENT);
	ASSERT_TRUE(strstr(e.message, "AbCdEf0123456789") == NULL);
	ASSERT_STR_CONTAINS(e.message, "Incorrect API key provided: sk-***");
	ASSERT_STR_CONTAINS(e.message, "(invalid_api_key)");
	embed_error_free(&e);

	ASSERT_INT_EQ(classify(401, "{\"error\":\"bad header Authorization: Bearer abcdefgh12345678\"}", &e),
	              EMBED_ERR_CLIENT);
	ASSERT_STR_CONTAINS(e.message, "Bearer ***");
	ASSERT_TRUE(strstr(e.message, "abcdefgh12345678") == NULL);
	/* the HTTP layer knows the key and masks it wherever it appears */
	embed_error_free(&e);
	classify(400, "{\"error\":\"unknown key my-own-secret-value-1\"}", &e);
	embed_error_redact(&e, "my-own-secret-value-1");
	ASSERT_STR_EQ(e.message, "HTTP 400: unknown key ***");
	embed_error_free(&e);

	struct buf b = BUF_INIT;
	buf_puts(&b, "{\"error\":\"");
	for (int i = 0; i < 400; i++)
		buf_puts(&b, "\xC3\xA9\\n");
	buf_puts(&b, "\"}");
	classify(500, buf_str(&b), &e);
	ASSERT_TRUE(strlen(e.message) <= EMBED_MESSAGE_MAX + 3);
	ASSERT_TRUE(utf8_is_clean(e.message, strlen(e.message)));
	ASSERT_TRUE(strchr(e.message, '\n') == NULL);
	ASSERT_TRUE(strcmp(e.message + strlen(e.message) - 3, "\xE2\x80\xA6") == 0);
	embed_error_free(&e);
	buf_free(&b);

	classify(500, "oops \xFF\xFE\x01 end", &e);
	ASSERT_STR_EQ(e.message, "HTTP 500: oops \xEF\xBF\xBD\xEF\xBF\xBD end");
	embed_error_free(&e);
	char *m = embed_clean_message("  a\t\tb  ", 8);
	ASSERT_STR_EQ(m, "a b");
	free(m);
}

TEST(wire_response_dispatch)
{
	struct embed_result r;
	struct embed_error e = EMBED_ERROR_INIT;
	const char *ok = "{\"embeddings\":[[1,0]]}";
	ASSERT_INT_EQ(embed_wire_response(EMBED_PROVIDER_OLLAMA, 200, ok, strlen(ok), 1, 2, &r, &e), EMBED_OK);
	ASSERT_TRUE(r.vectors && r.vectors[0] == 1.0f);
	embed_result_free(&r);
	ASSERT_INT_EQ(embed_wire_response(EMBED_PROVIDER_OPENAI, 200, ok, strlen(ok), 1, 2, &r, &e),
	              EMBED_ERR_PROTOCOL);
	embed_error_free(&e);
	ASSERT_INT_EQ(embed_wire_response(EMBED_PROVIDER_OPENAI, 429, "", 0, 1, 2, &r, &e), EMBED_ERR_RATE_LIMITED);
	ASSERT_TRUE(r.vectors == NULL);
	embed_error_free(&e);
}

/* ---- Retry-After and durations ---- */

static time_t at(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s};
	return timegm(&tm);
}

TEST(retry_after_seconds)
{
	time_t now = at(2015, 10, 21, 7, 28, 0);
	ASSERT_INT_EQ(embed_retry_after_ms("120", now), 120000);
	ASSERT_INT_EQ(embed_retry_after_ms(" 0 ", now), 0);
	ASSERT_INT_EQ(embed_retry_after_ms("1.5", now), 1500);
	ASSERT_INT_EQ(embed_retry_after_ms("99999999999999999999", now), 24LL * 3600 * 1000);
	ASSERT_INT_EQ(embed_retry_after_ms(NULL, now), -1);
	ASSERT_INT_EQ(embed_retry_after_ms("", now), -1);
	ASSERT_INT_EQ(embed_retry_after_ms("12abc", now), -1);
	ASSERT_INT_EQ(embed_retry_after_ms("-5", now), -1);
	ASSERT_INT_EQ(embed_retry_after_ms("soon", now), -1);
}

TEST(retry_after_http_dates)
{
	time_t now = at(2015, 10, 21, 7, 28, 0);
	ASSERT_INT_EQ(embed_retry_after_ms("Wed, 21 Oct 2015 07:28:30 GMT", now), 30000);
	ASSERT_INT_EQ(embed_retry_after_ms("Wednesday, 21-Oct-15 07:28:30 GMT", now), 30000);
	ASSERT_INT_EQ(embed_retry_after_ms("Wed Oct 21 07:28:30 2015", now), 30000);
	ASSERT_INT_EQ(embed_retry_after_ms("Thu, 22 Oct 2015 07:28:00 GMT", now), 86400000);
	ASSERT_INT_EQ(embed_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", now), 0); /* in the past */
	ASSERT_INT_EQ(embed_retry_after_ms("Wed Oct  1 07:28:00 2015", at(2015, 10, 1, 7, 27, 59)), 1000);
	ASSERT_INT_EQ(embed_retry_after_ms("Wed, 32 Oct 2015 07:28:30 GMT", now), -1);
	ASSERT_INT_EQ(embed_retry_after_ms("Wed, 21 Foo 2015 07:28:30 GMT", now), -1);
	ASSERT_INT_EQ(embed_retry_after_ms("Wed, 21 Oct 2015 25:28:30 GMT", now), -1);
	ASSERT_INT_EQ(embed_retry_after_ms("Wed, 21 Oct 2015 07:28:30 GMT junk", now), -1);
	ASSERT_INT_EQ(embed_retry_after_ms("Wed, 21 Oct", now), -1);
}

TEST(durations)
{
	ASSERT_INT_EQ(embed_duration_ms("6m0s"), 360000);
	ASSERT_INT_EQ(embed_duration_ms("20ms"), 20);
	ASSERT_INT_EQ(embed_duration_ms("1.5s"), 1500);
	ASSERT_INT_EQ(embed_duration_ms("1h2m3s"), 3723000);
	ASSERT_INT_EQ(embed_duration_ms("250us"), 1); /* rounded up: never retry early */
	ASSERT_INT_EQ(embed_duration_ms("0s"), 0);
	ASSERT_INT_EQ(embed_duration_ms("2"), 2000);
	ASSERT_INT_EQ(embed_duration_ms("1000h"), 24LL * 3600 * 1000);
	ASSERT_INT_EQ(embed_duration_ms(""), -1);
	ASSERT_INT_EQ(embed_duration_ms("5x"), -1);
	ASSERT_INT_EQ(embed_duration_ms("m"), -1);
	ASSERT_INT_EQ(embed_duration_ms("1s2"), -1);
	ASSERT_INT_EQ(embed_duration_ms(NULL), -1);
}

/* ---- batching ---- */

TEST(token_estimates)
{
	ASSERT_INT_EQ(embed_estimate_tokens("", 0), 0);
	ASSERT_INT_EQ(embed_estimate_tokens("abcd", 4), 1);
	ASSERT_INT_EQ(embed_estimate_tokens("abcde", 5), 2);
	char text[1200];
	memset(text, 'x', sizeof(text));
	ASSERT_INT_EQ(embed_estimate_tokens(text, sizeof(text)), 300);
	const char *cjk = "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"; /* three ideographs: a token each */
	ASSERT_INT_EQ(embed_estimate_tokens(cjk, strlen(cjk)), 3);
	const char *cyr = "\xD0\xB8\xD0\xBD\xD0\xB4\xD0\xB5\xD0\xBA\xD1\x81"; /* six Cyrillic letters */
	ASSERT_INT_EQ(embed_estimate_tokens(cyr, strlen(cyr)), 3);
}

TEST(batch_take)
{
	size_t t[] = {100, 200, 300, 400};
	ASSERT_INT_EQ(embed_batch_take(t, 4, 0, 350), 2);
	ASSERT_INT_EQ(embed_batch_take(t, 4, 0, 300), 2); /* exact fit */
	ASSERT_INT_EQ(embed_batch_take(t, 4, 1, 0), 1);
	ASSERT_INT_EQ(embed_batch_take(t, 4, 3, 0), 3);
	ASSERT_INT_EQ(embed_batch_take(t, 4, 0, 0), 4);
	ASSERT_INT_EQ(embed_batch_take(t + 3, 1, 8, 100), 1); /* an oversized text goes alone */
	ASSERT_INT_EQ(embed_batch_take(t + 2, 2, 8, 100), 1);
	ASSERT_INT_EQ(embed_batch_take(t, 0, 8, 100), 0);
}

TEST(endpoint_urls)
{
	char *u;
	ASSERT_STR_EQ(u = embed_endpoint_url(EMBED_PROVIDER_OPENAI, ""), "https://api.openai.com/v1/embeddings");
	free(u);
	ASSERT_STR_EQ(u = embed_endpoint_url(EMBED_PROVIDER_OPENAI, "http://127.0.0.1:8000/v1/"), "http://127.0.0.1:8000/v1/embeddings");
	free(u);
	ASSERT_STR_EQ(u = embed_endpoint_url(EMBED_PROVIDER_OPENAI, "http://vllm:8000"), "http://vllm:8000/v1/embeddings");
	free(u);
	ASSERT_STR_EQ(u = embed_endpoint_url(EMBED_PROVIDER_OLLAMA, ""), "http://127.0.0.1:11434/api/embed");
	free(u);
	ASSERT_STR_EQ(u = embed_endpoint_url(EMBED_PROVIDER_OLLAMA, "http://gpu:11434//"), "http://gpu:11434/api/embed");
	free(u);
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
