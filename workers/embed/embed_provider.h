/* The embedding engine of one embed worker process: runs batches of texts through the configured provider on
 * the worker's loop (builtin in CPU slices; openai/ollama as HTTP requests, several in flight, retried, rate
 * limited across the host). */
#ifndef PGKB_EMBED_PROVIDER_H
#define PGKB_EMBED_PROVIDER_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/cfg/cfg.h"
#include "lib/embed/embed.h"

/* Attempts per batch for retryable failures (429, 5xx, transport) before the batch fails. */
#define EMBED_ATTEMPTS 4
/* A Retry-After longer than this is not waited for inside the job: the job fails and the queue retries it. */
#define EMBED_RETRY_AFTER_MAX_MS 60000
/* Estimated tokens per request when tokens_per_minute does not cap it lower. */
#define EMBED_REQUEST_MAX_TOKENS 65536

struct embed_engine;
struct embed_batch;

/* Called exactly once per submitted batch, from the loop. res holds the vectors when err is NULL; both are
 * valid only during the call. A cancelled batch gets err->status EMBED_ERR_TRANSPORT with "cancelled". */
typedef void (*embed_batch_cb)(struct embed_batch *b, const struct embed_result *res,
                               const struct embed_error *err);

struct embed_batch {
	/* set by the owner; texts must stay valid until done runs */
	const char *const *texts;
	const size_t *lens;
	size_t n;
	int64_t tokens; /* estimated, for the rate limit */
	embed_batch_cb done;
	void *arg;
	bool cancelled; /* set by the owner at any time: the batch is not sent (again); done still runs once */
	/* the engine's */
	struct embed_engine *engine;
	struct embed_batch *next;
	int attempts;
	ev_timer retry;
	size_t embedded; /* builtin: texts done so far */
	float *vectors;  /* builtin: n * dim */
};

/* Creates the engine for cfg's embed.* settings; reads the API key from the environment variable named by
 * embed.api_key_env. Returns NULL and a heap *err for a configuration error (unknown provider, a remote provider
 * left with the builtin model name). */
struct embed_engine *embed_engine_new(struct ev_loop *loop, const struct cfg *cfg, char **err);
/* Queues b; its callback runs later from the loop (never from inside this call). */
void embed_engine_submit(struct embed_engine *e, struct embed_batch *b);
/* The model name stored with the vectors, and their dimension. */
const char *embed_engine_model(const struct embed_engine *e);
int embed_engine_dimension(const struct embed_engine *e);
/* Batching limits: texts and estimated tokens per request (0 tokens: no limit). */
size_t embed_engine_batch_count(const struct embed_engine *e);
size_t embed_engine_batch_tokens(const struct embed_engine *e);
/* Cancels every batch (their callbacks run before it returns) and frees the engine. NULL is a no-op. */
void embed_engine_free(struct embed_engine *e);

#endif
