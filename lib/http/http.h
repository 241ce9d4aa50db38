/* Asynchronous HTTP client: libcurl's multi interface on a libev loop (crawl fetcher, embed providers). */
#ifndef PGKB_HTTP_H
#define PGKB_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>

#include "lib/util/buf.h"

/* Client settings. Fill with http_client_opts_init(), then override; 0 means "off" where noted. */
struct http_client_opts {
	const char *user_agent;     /* sent on every request; NULL: "pgkb/0.1" */
	long max_total_connections; /* open connections, all hosts (more requests queue); 0: unlimited */
	long max_host_connections;  /* open connections per host; 0: unlimited */
	long connect_timeout_ms;    /* per connection attempt; 0: curl's default (300 s) */
	long timeout_ms;            /* whole request, redirects included; 0: none */
	long low_speed_bytes;       /* abort when fewer than this many bytes per second arrive ... */
	long low_speed_secs;        /* ... for this many seconds in a row; 0 (either): off */
	size_t max_body_bytes;      /* decoded body size cap, checked as data arrives; 0: unlimited */
	/* non-NULL: the body cap of a response by its Content-Type (NULL when it has none), checked as data arrives
	 * in place of max_body_bytes, which stays the cap an announced Content-Length is refused at (so it should be
	 * the largest this returns): a crawl takes a PDF larger than an HTML page */
	size_t (*max_body_for_type)(const char *content_type);
	long max_redirects;         /* redirects followed; 0: none (a 3xx comes back as the response) */
	bool allow_private;         /* allow loopback, private, link-local, ... targets (tests, intranets) */
	/* NULL-terminated networks ("127.0.0.0/8", "::1/128", "10.1.2.3"; see addr_net_parse) whose non-public
	 * addresses are allowed although allow_private is off; NULL: none. Copied; an entry that does not parse
	 * is logged and ignored (refused, never allowed). */
	const char *const *allow_networks;
	const char *ca_info;        /* CA bundle file; NULL: the system default */
};

/* What went wrong with a request; HTTP_OK also covers 4xx/5xx statuses (the transfer itself worked). */
enum http_error {
	HTTP_OK = 0,
	HTTP_ERR_CANCELLED, /* http_cancel_all() or http_client_free() */
	HTTP_ERR_PRIVATE,   /* target resolved to a non-public address outside allow_networks, allow_private off */
	HTTP_ERR_TOO_LARGE, /* body exceeds max_body_bytes */
	HTTP_ERR_REDIRECTS, /* more than max_redirects redirects */
	HTTP_ERR_TIMEOUT,   /* connect, total or low-speed timeout (the message says which, and its bound) */
	HTTP_ERR_CONNECT,   /* DNS failure, connection refused or reset while connecting */
	HTTP_ERR_URL,       /* malformed URL or a scheme other than http/https */
	HTTP_ERR_OTHER,     /* TLS, protocol or any other transport failure */
};

enum http_method { HTTP_GET, HTTP_POST };

struct http_request {
	enum http_method method;
	const char *url;
	const char *const *headers; /* NULL-terminated "Name: value" strings, or NULL; copied; never logged */
	const void *body;           /* POST body (copied), body_len bytes; NULL for none */
	size_t body_len;
	long timeout_ms; /* overrides the client's timeout_ms when > 0 */
	/* > 0: keep the first body_cap bytes of the body and end the transfer there as a success (the response's
	 * truncated flag says so), in place of the client's max_body_bytes, which fails a larger body: for a file
	 * of which a prefix is enough (robots.txt) */
	size_t body_cap;
};

/* Outcome of one request, valid only during the callback (copy what you keep). */
struct http_response {
	enum http_error error_kind;
	const char *error;   /* readable message; NULL exactly when error_kind == HTTP_OK */
	int curl_code;       /* CURLcode; non-zero whenever error_kind != HTTP_OK */
	long status;         /* HTTP status of the last response received; 0 if none */
	const char *url;     /* the requested URL */
	const char *effective_url; /* URL of the last response, after redirects */
	char *const *redirects; /* URLs that answered with a followed redirect, in order (first: requested) */
	size_t n_redirects;
	/* headers of the last response, NULL when absent */
	const char *content_type, *etag, *last_modified, *retry_after, *location;
	struct buf body;     /* decoded body with its length (may hold NUL bytes); the callback may take it:
	                        buf_steal(&resp->body), or copy the struct and zero it */
	bool truncated;      /* the body is the request's body_cap first bytes of a longer one */
	double total_time_s;
	const char *primary_ip; /* address of the last connection used; NULL if none */
	long num_connects;      /* new connections this request had to open (0: all reused) */
};

struct http_client;
/* Called exactly once per accepted request: from the loop, or from http_cancel_all/http_client_free (never
 * from inside http_request). It may start new requests, call http_cancel_all, take resp->body, and even call
 * http_client_free. */
typedef void (*http_done_cb)(struct http_response *resp, void *arg);

/* curl_global_init, once per process before any thread is started; returns 0, or -1 (logged). */
int http_global_init(void);
void http_global_cleanup(void);

/* Defaults: 30 s connect timeout, 120 s total, no low-speed limit, no body cap, 10 redirects, 64 connections
 * (8 per host), private addresses refused, user agent "pgkb/0.1". */
void http_client_opts_init(struct http_client_opts *o);

/* A client on loop: one curl multi handle (shared connection and DNS caches). opts is copied. Never NULL. */
struct http_client *http_client_new(struct ev_loop *loop, const struct http_client_opts *opts);

/* Starts a request; cb(resp, arg) is called exactly once later, from the loop. Returns 0, or -1 (cb never
 * called) when req is invalid (no URL, unknown method) or the client is being freed. */
int http_request(struct http_client *c, const struct http_request *req, http_done_cb cb, void *arg);

/* Number of requests accepted and not yet completed (queued or on the wire). */
size_t http_pending(const struct http_client *c);

/* Aborts every request in flight; each callback runs once, with HTTP_ERR_CANCELLED and "cancelled", before
 * this returns. Requests started by those callbacks are left running. */
void http_cancel_all(struct http_client *c);

/* Cancels what is in flight (callbacks run, see http_cancel_all), then frees the client. NULL is a no-op.
 * Called from a callback, the memory is released once the callback returns. */
void http_client_free(struct http_client *c);

/* "ok", "cancelled", "private address", "too large", ... */
const char *http_error_name(enum http_error e);

#endif
