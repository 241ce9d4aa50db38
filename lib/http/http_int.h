/* HTTP client internals shared by http.c (requests) and http_loop.c (multi/libev glue); private to them. */
#ifndef PGKB_HTTP_INT_H
#define PGKB_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>
#include <ev.h>

#include "lib/crawl/addr.h"
#include "lib/util/buf.h"
#include "lib/http/http.h"

/* Response headers kept; the order matches http.c's name table. */
enum http_hdr { HTTP_HDR_CONTENT_TYPE, HTTP_HDR_ETAG, HTTP_HDR_LAST_MODIFIED, HTTP_HDR_RETRY_AFTER,
	HTTP_HDR_LOCATION, HTTP_HDR_COUNT };

/* One request: from http_request() until its callback has run. */
struct http_xfer {
	struct http_client *client;
	struct http_xfer *prev, *next; /* client's in-flight list, oldest first */
	CURL *easy;
	struct curl_slist *headers;
	http_done_cb cb;
	void *arg;
	char *url;
	bool cancel_mark; /* selected by the http_cancel_all in progress */
	bool too_large;   /* the write callback refused data past max_body_bytes */
	size_t cap_used;  /* the cap it refused them at (max_body_for_type's, or max_body_bytes) */
	size_t body_cap;  /* the request's body_cap: data past it is dropped and the transfer ended */
	bool truncated;   /* ... which happened */
	long timeout_ms;  /* the total timeout this request runs under */
	char *refused;    /* private-address refusal message, set by the open-socket callback */
	long status;      /* status of the response being received (from its status line) */
	char *cur_url;    /* URL of that response */
	char **chain;     /* URLs that answered with a followed redirect */
	size_t n_chain, cap_chain;
	char *hdr[HTTP_HDR_COUNT];
	struct buf body;
	char errbuf[CURL_ERROR_SIZE];
};

/* One socket curl asked us to watch (attached with curl_multi_assign). */
struct http_sock {
	ev_io io;
	struct http_client *client;
	struct http_sock *prev, *next; /* client's list, so teardown can stop them all */
};

struct http_client {
	struct ev_loop *loop;
	CURLM *multi;
	struct http_client_opts opts; /* strings owned (copied); allow_networks NULL, parsed into nets */
	struct addr_net *nets;        /* opts.allow_networks, parsed */
	size_t n_nets;
	ev_timer timer;               /* curl's single timeout */
	struct http_xfer *head, *tail;
	size_t n_active;
	CURL **idle; /* easy handles kept for reuse */
	size_t n_idle, cap_idle;
	struct http_sock *socks;
	int depth;         /* > 0 while user callbacks run */
	bool closing;      /* http_client_free started: no new requests */
	bool free_pending; /* http_client_free called from a callback: free once the outermost one returns */
};

/* http_loop.c: installs the socket and timer callbacks on c->multi (c->loop and c->multi set). */
void http_loop_init(struct http_client *c);
/* http_loop.c: detaches the callbacks from c->multi and stops every watcher; call before
 * curl_multi_cleanup. */
void http_loop_stop(struct http_client *c);

/* http.c: removes x from the multi handle, runs its callback (cancelled, or with curl's result rc) and
 * recycles it. */
void http_xfer_finish(struct http_xfer *x, CURLcode rc, bool cancelled);
/* http.c: frees c if http_client_free was deferred and no callback is running; true if it did. */
bool http_client_reap_deferred(struct http_client *c);

#endif
