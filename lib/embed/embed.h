/* Embedding providers: the provider-neutral types shared by the builtin embedder and the HTTP wire formats. */
#ifndef PGKB_EMBED_H
#define PGKB_EMBED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum embed_provider { EMBED_PROVIDER_BUILTIN, EMBED_PROVIDER_OPENAI, EMBED_PROVIDER_OLLAMA };

/* Outcome of one provider request, and what the caller should do about it. */
enum embed_status {
	EMBED_OK = 0,
	EMBED_ERR_QUOTA,        /* the account is out of credit (insufficient_quota): fail at once, never retry */
	EMBED_ERR_RATE_LIMITED, /* HTTP 429 or rate_limit_exceeded: retry after retry_after_ms or with backoff */
	EMBED_ERR_SERVER,       /* 5xx, 408, or an error reported inside a 2xx body: retry with backoff */
	EMBED_ERR_CLIENT,       /* other 4xx (bad key, unknown model, input too long): fail at once */
	EMBED_ERR_PROTOCOL,     /* malformed JSON, missing fields, wrong count, non-numeric or non-finite elements */
	EMBED_ERR_DIMENSION,    /* the vectors' dimension differs from embed.dimension: a configuration error */
	EMBED_ERR_TRANSPORT,    /* no HTTP response at all (connect failure, timeout): set by the HTTP layer; retry */
};

/* What went wrong with a request. message is a heap string, valid UTF-8 without control characters, at most
 * EMBED_MESSAGE_MAX bytes plus an ellipsis, never containing an API key; NULL when status is EMBED_OK. */
struct embed_error {
	enum embed_status status;
	int http_status;        /* 0 when unknown */
	int64_t retry_after_ms; /* provider's hint (Retry-After header or "try again in 20ms"), -1 when none */
	char *message;
	/* Set by the caller before the error is filled (not owned, never printed): the API key, masked out of
	 * message before it is cut to length (embed_wire.h); NULL when there is none. */
	const char *secret;
};

#define EMBED_MESSAGE_MAX 500
#define EMBED_ERROR_INIT {EMBED_OK, 0, -1, NULL, NULL}

/* The vectors of one successful request: row i (vectors + i * dim) belongs to input i. */
struct embed_result {
	size_t count;
	int dim;
	float *vectors;        /* heap, count * dim floats, all finite */
	int64_t prompt_tokens; /* usage as reported by the provider, -1 when not reported */
	int64_t total_tokens;
};

#define EMBED_RESULT_INIT {0, 0, NULL, -1, -1}

/* The dimensions pgkb has embedding columns for. */
static inline bool embed_dimension_valid(int dim)
{
	return dim == 384 || dim == 768 || dim == 1024 || dim == 1536 || dim == 3072;
}

/* True for the statuses worth another attempt (rate limit, server error, transport failure). */
static inline bool embed_status_retryable(enum embed_status s)
{
	return s == EMBED_ERR_RATE_LIMITED || s == EMBED_ERR_SERVER || s == EMBED_ERR_TRANSPORT;
}

/* Stable lower-case name of a status, for logs and job errors ("quota", "rate_limited", ...). */
static inline const char *embed_status_name(enum embed_status s)
{
	switch (s) {
	case EMBED_OK: return "ok";
	case EMBED_ERR_QUOTA: return "quota";
	case EMBED_ERR_RATE_LIMITED: return "rate_limited";
	case EMBED_ERR_SERVER: return "server";
	case EMBED_ERR_CLIENT: return "client";
	case EMBED_ERR_PROTOCOL: return "protocol";
	case EMBED_ERR_DIMENSION: return "dimension";
	case EMBED_ERR_TRANSPORT: return "transport";
	}
	return "unknown";
}

/* Parses "builtin" | "openai" | "ollama"; returns -1 when unknown. */
static inline int embed_provider_parse(const char *s)
{
	if (strcmp(s, "builtin") == 0)
		return EMBED_PROVIDER_BUILTIN;
	if (strcmp(s, "openai") == 0)
		return EMBED_PROVIDER_OPENAI;
	if (strcmp(s, "ollama") == 0)
		return EMBED_PROVIDER_OLLAMA;
	return -1;
}

#endif
