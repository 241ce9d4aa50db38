/* Embedding wire formats (OpenAI-compatible and Ollama): request bodies, response parsing, error classification,
 * retry hints and token estimates. Pure functions: no network I/O, no global state. */
#ifndef PGKB_EMBED_WIRE_H
#define PGKB_EMBED_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/embed/embed.h"

/* Body for POST {base}/v1/embeddings: {"model":m,"input":[texts],"encoding_format":"float"} plus "dimensions":d
 * when dimensions > 0 (only for models that accept it, e.g. text-embedding-3-*). texts[i] has lens[i] bytes;
 * invalid UTF-8 is repaired with U+FFFD and NUL bytes are dropped. Returns a heap string for free(). */
char *embed_openai_request(const char *model, const char *const *texts, const size_t *lens, size_t n,
                           int dimensions);

/* Body for POST {base}/api/embed (Ollama native): {"model":m,"input":[texts]}. Same contract as above. */
char *embed_ollama_request(const char *model, const char *const *texts, const size_t *lens, size_t n);

/* Parse a 2xx response body for a request of `expect` inputs and configured dimension `dim`.
 * OpenAI: data[].embedding placed by data[].index (any order; position when index is absent), usage tokens.
 * Ollama: embeddings[][], prompt_eval_count as the token usage.
 * Returns 0 with *res filled (caller frees with embed_result_free), or -1 with *res empty and *err filled:
 * EMBED_ERR_PROTOCOL (malformed JSON, missing fields, wrong count, bad or duplicate index, non-numeric or
 * non-finite element), EMBED_ERR_DIMENSION (vector length differs from dim), or the classification of an error
 * object found inside the 2xx body. *err must be empty (EMBED_ERROR_INIT) on entry, apart from
 * err->secret: the API key to mask out of every message (see embed.h). */
int embed_openai_parse(const char *body, size_t len, size_t expect, int dim, struct embed_result *res,
                       struct embed_error *err);
int embed_ollama_parse(const char *body, size_t len, size_t expect, int dim, struct embed_result *res,
                       struct embed_error *err);

/* Classifies a failed response from either format ({"error":{"message","type","code"}}, {"error":"..."},
 * vLLM's {"message","type","code"}, or no JSON at all) and fills *err (empty on entry but for err->secret):
 * insufficient_quota (type or code) or HTTP 402 -> QUOTA; HTTP 429 or a rate_limit type/code -> RATE_LIMITED;
 * 5xx, 408, 425, or an error inside a 2xx body -> SERVER; other 4xx -> CLIENT; anything else -> PROTOCOL.
 * err->message reads "HTTP 429 (rate_limit_exceeded): <provider's message>"; err->retry_after_ms is taken from a
 * "try again in 1.5s" / "retry after 5 seconds" hint in the message, else -1 (the HTTP layer should overwrite it
 * with embed_retry_after_ms of the Retry-After header when there is one). Returns err->status. */
enum embed_status embed_classify(int http_status, const char *body, size_t len, struct embed_error *err);

/* For the HTTP layer: a 2xx body is parsed per provider (as above), anything else classified.
 * Returns EMBED_OK with *res filled, or the error status with *err filled. */
enum embed_status embed_wire_response(enum embed_provider provider, int http_status, const char *body, size_t len,
                                      size_t expect, int dim, struct embed_result *res, struct embed_error *err);

/* Milliseconds to wait according to a Retry-After header value: delta-seconds ("120", also "1.5") or an HTTP-date
 * (IMF-fixdate, RFC 850 or asctime form) relative to now; a date in the past gives 0. Capped at 24 hours.
 * Returns -1 when value is NULL or not understood. */
int64_t embed_retry_after_ms(const char *value, time_t now);

/* Milliseconds in a duration such as the x-ratelimit-reset-* headers send: "6m0s", "20ms", "1.5s", "1h2m",
 * "250us"; a bare number is seconds. Rounded up to whole ms, capped at 24 hours; -1 when not understood. */
int64_t embed_duration_ms(const char *value);

/* Estimated tokens of text[0..len) for batching: a quarter token per ASCII byte, half per 2-byte UTF-8 character
 * (accented Latin, Greek, Cyrillic), one per longer character (CJK, emoji), rounded up. Errs on the high side of
 * common BPE tokenizers for prose; 0 for an empty text. */
size_t embed_estimate_tokens(const char *text, size_t len);

/* How many of the next texts (their estimated tokens in tokens[0..n)) go into one request: the longest
 * prefix with at most max_count entries and at most max_tokens tokens in total (0 = no limit for either). At least 1 when
 * n > 0, so a single oversized text goes alone; 0 when n is 0. */
size_t embed_batch_take(const size_t *tokens, size_t n, size_t max_count, size_t max_tokens);

/* A provider's text made safe for logs and job errors: valid UTF-8, control characters as spaces, secrets that
 * look like API keys (sk-..., Bearer ..., api_key=...) masked, cut to EMBED_MESSAGE_MAX bytes plus "…".
 * Returns a heap string. */
char *embed_clean_message(const char *s, size_t n);

/* Masks every occurrence of secret (when at least 4 bytes long) in err->message with "***", and a prefix of it
 * (4 bytes or more) that ends the message or stands just before the ellipsis of a cut. Messages built while
 * err->secret is set are masked that way already, before they are cut to length; this is for the rest. */
void embed_error_redact(struct embed_error *err, const char *secret);

/* Frees what the struct holds and resets it to its _INIT state; safe on an _INIT struct. */
void embed_result_free(struct embed_result *res);
void embed_error_free(struct embed_error *err);

/* The provider's embeddings endpoint for a base URL (heap string): {base}/v1/embeddings for openai (a base that
 * already ends in /v1 gets /embeddings), {base}/api/embed for ollama. An empty base means the provider's usual
 * address: https://api.openai.com, or a local Ollama at http://127.0.0.1:11434. */
char *embed_endpoint_url(enum embed_provider p, const char *base);

#endif
