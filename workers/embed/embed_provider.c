/* The embedding engine of an embed worker: a FIFO of batches served by the builtin embedder in CPU slices from an
 * ev_idle watcher, or by HTTP requests (libcurl multi on the worker's loop) with bounded retries and a rate limit
 * shared by every process of the host. */
#include "workers/embed/embed_provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/util/backoff.h"
#include "lib/embed/embed_builtin.h"
#include "workers/embed/embed_ratelimit.h"
#include "lib/embed/embed_wire.h"
#include "lib/http/http.h"
#include "lib/util/log.h"
#include "lib/util/mem.h"

/* Builtin: CPU time one idle callback may spend before the loop gets a turn. */
#define EMBED_SLICE_NS 4000000LL
#define EMBED_RETRY_BASE_MS 500
#define EMBED_RETRY_CAP_MS 20000
#define EMBED_CONNECT_TIMEOUT_MS 10000

struct embed_engine {
	struct ev_loop *loop;
	enum embed_provider provider;
	char *model;
	int dim;
	size_t batch_count, batch_tokens;
	int max_inflight, inflight;
	bool freeing;
	/* HTTP providers */
	struct http_client *http;
	char *url;
	char *api_key;     /* never logged; masked out of every error message */
	char *auth_header; /* "Authorization: Bearer ..." or NULL */
	int dimensions_param; /* "dimensions" sent to OpenAI text-embedding-3 models, else 0 */
	struct embed_rl *rl;
	/* queued batches (FIFO) and those waiting for a retry */
	struct embed_batch *head, *tail, *waiting;
	ev_timer kick; /* dispatch soon, or after a rate-limit wait */
	ev_idle cpu;   /* builtin slices */
};

static void engine_dispatch(struct embed_engine *e);

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void queue_push(struct embed_engine *e, struct embed_batch *b, bool front)
{
	b->next = NULL;
	if (!e->head) {
		e->head = e->tail = b;
	} else if (front) {
		b->next = e->head;
		e->head = b;
	} else {
		e->tail->next = b;
		e->tail = b;
	}
}

static struct embed_batch *queue_pop(struct embed_engine *e)
{
	struct embed_batch *b = e->head;
	if (b) {
		e->head = b->next;
		if (!e->head)
			e->tail = NULL;
		b->next = NULL;
	}
	return b;
}

static void waiting_remove(struct embed_engine *e, struct embed_batch *b)
{
	for (struct embed_batch **p = &e->waiting; *p; p = &(*p)->next)
		if (*p == b) {
			*p = b->next;
			b->next = NULL;
			return;
		}
}

/* Ends a batch with vectors (res) or an error; frees the batch's engine-owned memory first. */
static void batch_finish(struct embed_batch *b, const struct embed_result *res, const struct embed_error *err)
{
	free(b->vectors);
	b->vectors = NULL;
	b->done(b, err ? NULL : res, err);
}

static void batch_cancelled(struct embed_batch *b)
{
	struct embed_error err = {EMBED_ERR_TRANSPORT, 0, -1, (char *)"cancelled", NULL};
	batch_finish(b, NULL, &err);
}

static void engine_kick(struct embed_engine *e, double after_s)
{
	if (ev_is_active(&e->kick))
		return;
	ev_timer_set(&e->kick, after_s, 0.);
	ev_timer_start(e->loop, &e->kick);
}

void embed_engine_submit(struct embed_engine *e, struct embed_batch *b)
{
	b->engine = e;
	b->attempts = 0;
	b->embedded = 0;
	b->vectors = NULL;
	queue_push(e, b, false);
	engine_kick(e, 0.);
}

/* ---- builtin: CPU slices ---- */

/* Embeds texts of the head batch until the slice is spent; finishes the batch when it is complete. */
static void on_cpu(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct embed_engine *e = w->data;
	struct embed_batch *b = e->head;
	if (!b) {
		ev_idle_stop(loop, w);
		return;
	}
	if (b->cancelled) {
		queue_pop(e);
		batch_cancelled(b);
		return;
	}
	if (!b->vectors)
		b->vectors = xmalloc(b->n * (size_t)e->dim * sizeof(float));
	int64_t deadline = now_ns() + EMBED_SLICE_NS;
	while (b->embedded < b->n && (b->embedded == 0 || now_ns() < deadline)) {
		embed_builtin(b->texts[b->embedded], b->lens[b->embedded], e->dim, b->vectors + b->embedded * (size_t)e->dim);
		b->embedded++;
	}
	if (b->embedded < b->n)
		return;
	queue_pop(e);
	struct embed_result res = {b->n, e->dim, b->vectors, -1, -1};
	b->vectors = NULL;
	b->done(b, &res, NULL);
	free(res.vectors);
}

/* ---- HTTP providers ---- */

static void on_retry(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct embed_batch *b = t->data;
	struct embed_engine *e = b->engine;
	waiting_remove(e, b);
	queue_push(e, b, true);
	engine_dispatch(e);
}

/* Fills err from a transfer that got no HTTP response. */
static void transport_error(const struct http_response *resp, struct embed_error *err)
{
	bool fatal = resp->error_kind == HTTP_ERR_URL || resp->error_kind == HTTP_ERR_PRIVATE;
	err->status = fatal ? EMBED_ERR_CLIENT : EMBED_ERR_TRANSPORT;
	err->message = xasprintf("%s (%s)", http_error_name(resp->error_kind), resp->error);
}

/* Schedules another attempt of b; returns false when b should fail instead. */
static bool batch_retry(struct embed_engine *e, struct embed_batch *b, const struct embed_error *err)
{
	if (!embed_status_retryable(err->status) || b->cancelled || e->freeing || b->attempts >= EMBED_ATTEMPTS)
		return false;
	if (err->retry_after_ms > EMBED_RETRY_AFTER_MAX_MS)
		return false;
	int64_t delay = err->retry_after_ms >= 0
		? err->retry_after_ms
		: backoff_ms(b->attempts, EMBED_RETRY_BASE_MS, EMBED_RETRY_CAP_MS, (double)rand() / ((double)RAND_MAX + 1));
	if (err->status == EMBED_ERR_RATE_LIMITED)
		embed_rl_pause(e->rl, delay); /* every worker of the host holds back, not only this request */
	log_info("embed: %zu texts, attempt %d of %d failed (%s), retrying in %lld ms", b->n, b->attempts,
	         EMBED_ATTEMPTS, err->message, (long long)delay);
	ev_timer_init(&b->retry, on_retry, delay / 1000.0, 0.);
	b->retry.data = b;
	ev_timer_start(e->loop, &b->retry);
	b->next = e->waiting;
	e->waiting = b;
	return true;
}

static void on_http_done(struct http_response *resp, void *arg)
{
	struct embed_batch *b = arg;
	struct embed_engine *e = b->engine;
	e->inflight--;
	struct embed_result res = EMBED_RESULT_INIT;
	struct embed_error err = EMBED_ERROR_INIT;
	err.secret = e->api_key; /* masked out of the provider's text before it is cut to length */
	if (resp->error_kind == HTTP_ERR_CANCELLED) {
		batch_cancelled(b);
		engine_dispatch(e);
		return;
	}
	if (resp->error_kind != HTTP_OK) {
		transport_error(resp, &err);
	} else if (embed_wire_response(e->provider, (int)resp->status, resp->body.data, resp->body.len, b->n, e->dim,
	                               &res, &err) != EMBED_OK) {
		int64_t ra = embed_retry_after_ms(resp->retry_after, time(NULL));
		if (ra >= 0)
			err.retry_after_ms = ra;
	}
	if (err.status != EMBED_OK) {
		embed_error_redact(&err, e->api_key);
		if (!batch_retry(e, b, &err))
			batch_finish(b, NULL, &err);
	} else {
		batch_finish(b, &res, NULL);
	}
	embed_result_free(&res);
	embed_error_free(&err);
	engine_dispatch(e);
}

static char *request_body(const struct embed_engine *e, const struct embed_batch *b)
{
	if (e->provider == EMBED_PROVIDER_OLLAMA)
		return embed_ollama_request(e->model, b->texts, b->lens, b->n);
	return embed_openai_request(e->model, b->texts, b->lens, b->n, e->dimensions_param);
}

static void batch_send(struct embed_engine *e, struct embed_batch *b)
{
	char *body = request_body(e, b);
	const char *headers[3] = {"Content-Type: application/json", e->auth_header, NULL};
	struct http_request req = {.method = HTTP_POST, .url = e->url, .headers = headers, .body = body,
	                           .body_len = strlen(body)};
	b->attempts++;
	e->inflight++;
	if (http_request(e->http, &req, on_http_done, b) != 0) {
		e->inflight--;
		struct embed_error err = {EMBED_ERR_CLIENT, 0, -1, (char *)"the HTTP client refused the request", NULL};
		batch_finish(b, NULL, &err);
	}
	free(body);
}

/* Starts queued batches while requests may be added and the rate limit allows. */
static void engine_dispatch(struct embed_engine *e)
{
	if (e->freeing)
		return;
	if (e->provider == EMBED_PROVIDER_BUILTIN) {
		if (e->head && !ev_is_active(&e->cpu))
			ev_idle_start(e->loop, &e->cpu);
		return;
	}
	while (e->head && e->inflight < e->max_inflight) {
		struct embed_batch *b = e->head;
		if (b->cancelled) {
			queue_pop(e);
			batch_cancelled(b);
			continue;
		}
		int64_t wait = embed_rl_acquire(e->rl, b->tokens);
		if (wait > 0) {
			engine_kick(e, wait / 1000.0);
			return;
		}
		queue_pop(e);
		batch_send(e, b);
	}
}

static void on_kick(struct ev_loop *loop, ev_timer *t, int revents)
{
	engine_dispatch(t->data);
}

/* ---- setup ---- */

static void engine_http_setup(struct embed_engine *e, const struct cfg *cfg)
{
	e->url = embed_endpoint_url(e->provider, cfg->embed_base_url);
	const char *key = cfg->embed_api_key_env && *cfg->embed_api_key_env ? getenv(cfg->embed_api_key_env) : NULL;
	if (key && *key) {
		e->api_key = xstrdup(key);
		e->auth_header = xasprintf("Authorization: Bearer %s", key);
	}
	if (e->provider == EMBED_PROVIDER_OPENAI && strncmp(e->model, "text-embedding-3", 16) == 0)
		e->dimensions_param = e->dim;
	struct http_client_opts o;
	http_client_opts_init(&o);
	o.timeout_ms = cfg->embed_timeout_ms;
	o.connect_timeout_ms = cfg->embed_timeout_ms < EMBED_CONNECT_TIMEOUT_MS ? cfg->embed_timeout_ms
	                                                                        : EMBED_CONNECT_TIMEOUT_MS;
	o.max_total_connections = e->max_inflight;
	o.max_host_connections = e->max_inflight;
	o.max_redirects = 0;
	o.max_body_bytes = 256u << 20;
	o.allow_private = true; /* local Ollama, vLLM and TEI listen on loopback or the LAN */
	e->http = http_client_new(e->loop, &o);
	char *key_id = xasprintf("%s %s", cfg->embed_provider, e->url);
	e->rl = embed_rl_open(key_id, cfg->embed_requests_per_minute, cfg->embed_tokens_per_minute);
	free(key_id);
	int64_t cap = embed_rl_max_tokens(cfg->embed_tokens_per_minute);
	e->batch_tokens = cap > 0 && cap < EMBED_REQUEST_MAX_TOKENS ? (size_t)cap : EMBED_REQUEST_MAX_TOKENS;
	log_info("embed: provider %s, model %s, dimension %d, %s, batch %zu texts / %zu tokens, %d in flight%s%s",
	         cfg->embed_provider, e->model, e->dim, e->url, e->batch_count, e->batch_tokens, e->max_inflight,
	         e->rl ? ", rate limit " : "", e->rl ? embed_rl_path(e->rl) : "");
}

struct embed_engine *embed_engine_new(struct ev_loop *loop, const struct cfg *cfg, char **err)
{
	int p = embed_provider_parse(cfg->embed_provider);
	if (p < 0) {
		*err = xasprintf("embed.provider: unknown provider \"%s\"", cfg->embed_provider);
		return NULL;
	}
	if (p != EMBED_PROVIDER_BUILTIN && strcmp(cfg->embed_model, EMBED_BUILTIN_MODEL) == 0) {
		*err = xasprintf("embed.model: provider %s needs the name of one of its models (embed.model is \"%s\")",
		                 cfg->embed_provider, cfg->embed_model);
		return NULL;
	}
	struct embed_engine *e = xcalloc(1, sizeof *e);
	e->loop = loop;
	e->provider = (enum embed_provider)p;
	e->model = xstrdup(p == EMBED_PROVIDER_BUILTIN ? EMBED_BUILTIN_MODEL : cfg->embed_model);
	e->dim = cfg->embed_dimension;
	e->batch_count = (size_t)cfg->embed_batch_size;
	e->max_inflight = cfg->embed_max_inflight;
	ev_timer_init(&e->kick, on_kick, 0., 0.);
	e->kick.data = e;
	ev_idle_init(&e->cpu, on_cpu);
	e->cpu.data = e;
	if (p == EMBED_PROVIDER_BUILTIN) {
		e->batch_tokens = 0;
		log_info("embed: provider builtin, model %s, dimension %d", e->model, e->dim);
	} else {
		engine_http_setup(e, cfg);
	}
	return e;
}

const char *embed_engine_model(const struct embed_engine *e)
{
	return e->model;
}

int embed_engine_dimension(const struct embed_engine *e)
{
	return e->dim;
}

size_t embed_engine_batch_count(const struct embed_engine *e)
{
	return e->batch_count;
}

size_t embed_engine_batch_tokens(const struct embed_engine *e)
{
	return e->batch_tokens;
}

void embed_engine_free(struct embed_engine *e)
{
	if (!e)
		return;
	e->freeing = true;
	ev_timer_stop(e->loop, &e->kick);
	ev_idle_stop(e->loop, &e->cpu);
	http_client_free(e->http); /* in-flight batches: their callbacks run with "cancelled" */
	struct embed_batch *b;
	while ((b = e->waiting)) {
		e->waiting = b->next;
		ev_timer_stop(e->loop, &b->retry);
		batch_cancelled(b);
	}
	while ((b = queue_pop(e)))
		batch_cancelled(b);
	embed_rl_close(e->rl);
	free(e->model);
	free(e->url);
	if (e->api_key)
		memset(e->api_key, 0, strlen(e->api_key));
	free(e->api_key);
	if (e->auth_header)
		memset(e->auth_header, 0, strlen(e->auth_header));
	free(e->auth_header);
	free(e);
}
