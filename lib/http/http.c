/* HTTP requests on one curl multi handle: options, response capture, private-address guard, cancellation. */
#include "lib/http/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "lib/crawl/addr.h"
#include "lib/http/http_int.h"
#include "lib/util/log.h"
#include "lib/util/mem.h"

#define HTTP_IDLE_MAX 64 /* easy handles kept for reuse */
#define HTTP_DEFAULT_UA "pgkb/0.1"

static const char *const hdr_names[HTTP_HDR_COUNT] = {"content-type", "etag", "last-modified", "retry-after",
                                                      "location"};

int http_global_init(void)
{
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK) {
		log_error("http: curl_global_init: %s", curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

void http_global_cleanup(void)
{
	curl_global_cleanup();
}

void http_client_opts_init(struct http_client_opts *o)
{
	memset(o, 0, sizeof *o);
	o->max_total_connections = 64;
	o->max_host_connections = 8;
	o->connect_timeout_ms = 30000;
	o->timeout_ms = 120000;
	o->max_redirects = 10;
}

const char *http_error_name(enum http_error e)
{
	switch (e) {
	case HTTP_OK: return "ok";
	case HTTP_ERR_CANCELLED: return "cancelled";
	case HTTP_ERR_PRIVATE: return "private address";
	case HTTP_ERR_TOO_LARGE: return "too large";
	case HTTP_ERR_REDIRECTS: return "too many redirects";
	case HTTP_ERR_TIMEOUT: return "timeout";
	case HTTP_ERR_CONNECT: return "connect";
	case HTTP_ERR_URL: return "bad url";
	case HTTP_ERR_OTHER: return "transport";
	}
	return "?";
}

/* ---- private-address guard ---- */

/* True when the client may connect to sa (addrlen bytes, as curl hands it over): a public address, any
 * address with allow_private, or one inside allow_networks. Fills text with its printable form and *cls with
 * its class. */
static bool http_addr_allowed(const struct http_client *c, const struct sockaddr *sa, size_t addrlen, char *text,
                              size_t textlen, enum addr_class *cls)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	memcpy(&ss, sa, addrlen < sizeof ss ? addrlen : sizeof ss);
	snprintf(text, textlen, "?");
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&ss)->sin_addr, text, (socklen_t)textlen);
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&ss)->sin6_addr, text, (socklen_t)textlen);
	*cls = addr_classify((const struct sockaddr *)&ss);
	if (*cls == ADDR_PUBLIC || c->opts.allow_private)
		return true;
	for (size_t i = 0; i < c->n_nets; i++)
		if (addr_net_contains(&c->nets[i], (const struct sockaddr *)&ss))
			return true;
	return false;
}

/* Parses opts->allow_networks into c->nets; entries that do not parse are logged and left out. */
static void client_parse_networks(struct http_client *c, const struct http_client_opts *opts)
{
	size_t n = 0;
	for (const char *const *p = opts->allow_networks; p && *p; p++)
		n++;
	c->nets = n ? xcalloc(n, sizeof *c->nets) : NULL;
	for (size_t i = 0; i < n; i++) {
		if (addr_net_parse(opts->allow_networks[i], &c->nets[c->n_nets]) == 0)
			c->n_nets++;
		else
			log_error("http: allow_networks: \"%s\" is not an IP network; ignored", opts->allow_networks[i]);
	}
	c->opts.allow_networks = NULL;
}

/* ---- curl easy callbacks ---- */

/* CURLOPT_OPENSOCKETFUNCTION: runs after DNS for every connection, redirect hops included. */
static curl_socket_t xfer_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct http_xfer *x = clientp;
	char ip[INET6_ADDRSTRLEN];
	enum addr_class cls;
	if (!http_addr_allowed(x->client, &a->addr, a->addrlen, ip, sizeof ip, &cls)) {
		free(x->refused);
		x->refused = xasprintf("refused to connect to private address %s (%s, not public; "
		                       "allow it with crawl.allow_networks)", ip, addr_class_name(cls));
		return CURL_SOCKET_BAD;
	}
	free(x->refused); /* another address of the host was fine: a later failure is not about the guard */
	x->refused = NULL;
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static void xfer_clear_headers(struct http_xfer *x)
{
	for (int i = 0; i < HTTP_HDR_COUNT; i++) {
		free(x->hdr[i]);
		x->hdr[i] = NULL;
	}
}

/* Moves cur_url, the URL of a redirect that was followed, to the end of the chain. */
static void xfer_chain_push(struct http_xfer *x)
{
	if (x->n_chain == x->cap_chain) {
		x->cap_chain = x->cap_chain ? 2 * x->cap_chain : 4;
		x->chain = xrealloc(x->chain, x->cap_chain * sizeof *x->chain);
	}
	x->chain[x->n_chain++] = x->cur_url;
	x->cur_url = NULL;
}

/* A status line starts a new response: the previous one, if a redirect, joins the chain. */
static void xfer_status_line(struct http_xfer *x, const char *p, size_t len)
{
	const char *sp = memchr(p, ' ', len), *end = p + len;
	long code = 0;
	for (const char *d = sp ? sp + 1 : end; d < end && *d >= '0' && *d <= '9' && code < 1000; d++)
		code = code * 10 + (*d - '0');
	if (code >= 100 && code < 200)
		return; /* interim (100 Continue, 103 Early Hints) */
	if (x->status >= 300 && x->status < 400 && x->cur_url)
		xfer_chain_push(x);
	free(x->cur_url);
	char *eff = NULL;
	curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &eff);
	x->cur_url = xstrdup(eff ? eff : x->url);
	x->status = code;
	xfer_clear_headers(x);
	buf_reset(&x->body);
}

static size_t xfer_header_cb(char *p, size_t size, size_t n, void *userdata)
{
	struct http_xfer *x = userdata;
	size_t len = size * n;
	if (len > 5 && memcmp(p, "HTTP/", 5) == 0) {
		xfer_status_line(x, p, len);
		return len;
	}
	const char *colon = memchr(p, ':', len);
	if (!colon)
		return len;
	size_t nlen = (size_t)(colon - p);
	for (int i = 0; i < HTTP_HDR_COUNT; i++) {
		if (strlen(hdr_names[i]) != nlen || strncasecmp(p, hdr_names[i], nlen) != 0)
			continue;
		const char *v = colon + 1, *end = p + len;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
			end--;
		free(x->hdr[i]);
		x->hdr[i] = xstrndup(v, (size_t)(end - v));
	}
	return len;
}

/* Decoded body data; refusing data past max_body_bytes aborts the transfer at once (Content-Length may be
 * absent, and the encoded size says nothing about a compression bomb). */
static size_t xfer_write_cb(char *p, size_t size, size_t n, void *userdata)
{
	struct http_xfer *x = userdata;
	size_t len = size * n, max = x->client->opts.max_body_bytes;
	if (x->client->opts.max_body_for_type)
		max = x->client->opts.max_body_for_type(x->hdr[HTTP_HDR_CONTENT_TYPE]);
	if (x->body_cap) { /* keep a prefix; returning less than len ends the transfer (CURLE_WRITE_ERROR) */
		size_t room = x->body_cap > x->body.len ? x->body_cap - x->body.len : 0;
		buf_append(&x->body, p, len < room ? len : room);
		if (len <= room)
			return len;
		x->truncated = true;
		return 0;
	}
	if (max && (x->body.len > max || len > max - x->body.len)) {
		x->too_large = true;
		x->cap_used = max;
		return 0;
	}
	buf_append(&x->body, p, len);
	return len;
}

/* ---- request life cycle ---- */

static struct curl_slist *slist_add(struct curl_slist *l, const char *s)
{
	struct curl_slist *n = curl_slist_append(l, s);
	if (!n)
		abort(); /* out of memory, as xmalloc */
	return n;
}

static void xfer_set_options(struct http_xfer *x, const struct http_request *req)
{
	const struct http_client_opts *o = &x->client->opts;
	CURL *e = x->easy;
	long timeout = req->timeout_ms > 0 ? req->timeout_ms : o->timeout_ms;

	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, xfer_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, xfer_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, xfer_open_socket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, x);
	/* no *_proxy from the environment: a proxy would hide the target address from the guard */
	curl_easy_setopt(e, CURLOPT_PROXY, "");
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(e, CURLOPT_USERAGENT, o->user_agent);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""); /* every encoding this libcurl decodes */
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 60L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 30L);
	if (o->max_redirects > 0) {
		curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(e, CURLOPT_MAXREDIRS, o->max_redirects);
	}
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
	x->timeout_ms = timeout;
	x->body_cap = req->body_cap;
	if (o->low_speed_bytes > 0 && o->low_speed_secs > 0) {
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, o->low_speed_bytes);
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, o->low_speed_secs);
	}
	if (o->max_body_bytes && !req->body_cap) /* a capped body is cut, never refused for its announced size */
		curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_body_bytes);
	if (o->ca_info)
		curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_info);
	for (const char *const *h = req->headers; h && *h; h++)
		x->headers = slist_add(x->headers, *h);
	if (req->method == HTTP_POST) {
		x->headers = slist_add(x->headers, "Expect:"); /* no 100-continue round trip */
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->body_len : 0));
		curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body ? req->body : "");
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
}

static CURL *client_take_easy(struct http_client *c)
{
	if (c->n_idle)
		return c->idle[--c->n_idle];
	CURL *e = curl_easy_init();
	if (!e)
		log_error("http: curl_easy_init failed (was http_global_init called?)");
	return e;
}

static void client_put_easy(struct http_client *c, CURL *e)
{
	curl_easy_reset(e);
	if (c->n_idle == HTTP_IDLE_MAX) {
		curl_easy_cleanup(e);
		return;
	}
	if (c->n_idle == c->cap_idle) {
		c->cap_idle = c->cap_idle ? 2 * c->cap_idle : 8;
		c->idle = xrealloc(c->idle, c->cap_idle * sizeof *c->idle);
	}
	c->idle[c->n_idle++] = e;
}

static void xfer_free(struct http_xfer *x)
{
	client_put_easy(x->client, x->easy);
	curl_slist_free_all(x->headers);
	xfer_clear_headers(x);
	for (size_t i = 0; i < x->n_chain; i++)
		free(x->chain[i]);
	free(x->chain);
	free(x->cur_url);
	free(x->refused);
	free(x->url);
	buf_free(&x->body);
	free(x);
}

int http_request(struct http_client *c, const struct http_request *req, http_done_cb cb, void *arg)
{
	if (c->closing)
		return -1;
	if (!req || !req->url || !cb || (req->method != HTTP_GET && req->method != HTTP_POST)) {
		log_error("http: invalid request (no URL, callback or method)");
		return -1;
	}
	CURL *easy = client_take_easy(c);
	if (!easy)
		return -1;
	struct http_xfer *x = xcalloc(1, sizeof *x);
	x->client = c;
	x->easy = easy;
	x->cb = cb;
	x->arg = arg;
	x->url = xstrdup(req->url);
	xfer_set_options(x, req);
	CURLMcode mc = curl_multi_add_handle(c->multi, easy);
	if (mc != CURLM_OK) {
		log_error("http: curl_multi_add_handle: %s", curl_multi_strerror(mc));
		xfer_free(x);
		return -1;
	}
	x->prev = c->tail;
	if (c->tail)
		c->tail->next = x;
	else
		c->head = x;
	c->tail = x;
	c->n_active++;
	return 0;
}

/* Which of the three timeouts ended x, with its bound, so that a reader knows what to raise (or what the
 * server did): curl reports all three as CURLE_OPERATION_TIMEDOUT. The low-speed check ends a transfer that
 * is connected and still inside its total time; its message ("Operation too slow") is curl's too. */
static char *timeout_message(struct http_xfer *x)
{
	const struct http_client_opts *o = &x->client->opts;
	curl_off_t total_us = 0, connect_us = 0, got = 0;
	curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &total_us);
	curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
	curl_easy_getinfo(x->easy, CURLINFO_SIZE_DOWNLOAD_T, &got);
	bool low_speed_on = o->low_speed_bytes > 0 && o->low_speed_secs > 0;
	if (low_speed_on && (strstr(x->errbuf, "too slow") ||
	                     (connect_us > 0 && total_us / 1000 + 500 < (curl_off_t)x->timeout_ms)))
		return xasprintf("low-speed limit: less than %ld bytes/s for %ld s (%lld bytes received in %.1f s)",
		                 o->low_speed_bytes, o->low_speed_secs, (long long)got, (double)total_us / 1e6);
	if (connect_us == 0 && total_us / 1000 + 500 < (curl_off_t)x->timeout_ms)
		return xasprintf("connect timeout: no connection within %ld ms (%s)", o->connect_timeout_ms,
		                 x->errbuf[0] ? x->errbuf : "timed out");
	return xasprintf("total timeout: no complete response within %ld ms (%lld bytes received)", x->timeout_ms,
	                 (long long)got);
}

/* Classifies the outcome; returns the heap error message (NULL on success). */
static char *xfer_outcome(struct http_xfer *x, CURLcode rc, bool cancelled, enum http_error *kind)
{
	const struct http_client_opts *o = &x->client->opts;
	*kind = HTTP_OK;
	if (cancelled) {
		*kind = HTTP_ERR_CANCELLED;
		return xstrdup("cancelled");
	}
	if (rc == CURLE_OK)
		return NULL;
	if (x->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
		*kind = HTTP_ERR_TOO_LARGE;
		return xasprintf("response body exceeds max_body_bytes (%zu bytes)",
		                 x->too_large && x->cap_used ? x->cap_used : o->max_body_bytes);
	}
	if (x->refused && rc == CURLE_COULDNT_CONNECT) {
		*kind = HTTP_ERR_PRIVATE;
		return xstrdup(x->refused);
	}
	switch (rc) {
	case CURLE_TOO_MANY_REDIRECTS:
		*kind = HTTP_ERR_REDIRECTS;
		return xasprintf("too many redirects: stopped after %ld (max_redirects) at %s",
		                 o->max_redirects, x->cur_url ? x->cur_url : x->url);
	case CURLE_OPERATION_TIMEDOUT: *kind = HTTP_ERR_TIMEOUT; return timeout_message(x);
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT: *kind = HTTP_ERR_CONNECT; break;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL: *kind = HTTP_ERR_URL; break;
	default: *kind = HTTP_ERR_OTHER; break;
	}
	return xstrdup(x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
}

static void xfer_fill_response(struct http_xfer *x, CURLcode rc, struct http_response *r)
{
	CURL *e = x->easy;
	char *eff = NULL, *ip = NULL;
	curl_off_t us = 0;
	memset(r, 0, sizeof *r);
	r->curl_code = (int)rc;
	r->url = x->url;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &eff);
	r->effective_url = eff ? eff : x->url;
	r->redirects = x->chain;
	r->n_redirects = x->n_chain;
	r->content_type = x->hdr[HTTP_HDR_CONTENT_TYPE];
	r->etag = x->hdr[HTTP_HDR_ETAG];
	r->last_modified = x->hdr[HTTP_HDR_LAST_MODIFIED];
	r->retry_after = x->hdr[HTTP_HDR_RETRY_AFTER];
	r->location = x->hdr[HTTP_HDR_LOCATION];
	r->body = x->body;
	r->truncated = x->truncated;
	memset(&x->body, 0, sizeof x->body);
	curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &us);
	r->total_time_s = (double)us / 1e6;
	curl_easy_getinfo(e, CURLINFO_PRIMARY_IP, &ip);
	r->primary_ip = ip && *ip ? ip : NULL;
	curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &r->num_connects);
}

void http_xfer_finish(struct http_xfer *x, CURLcode rc, bool cancelled)
{
	struct http_client *c = x->client;
	struct http_response r;

	curl_multi_remove_handle(c->multi, x->easy);
	if (x->prev)
		x->prev->next = x->next;
	else
		c->head = x->next;
	if (x->next)
		x->next->prev = x->prev;
	else
		c->tail = x->prev;
	c->n_active--;

	if (cancelled)
		rc = CURLE_ABORTED_BY_CALLBACK;
	else if (x->truncated && rc == CURLE_WRITE_ERROR)
		rc = CURLE_OK; /* the body_cap prefix is what was asked for */
	/* A redirect followed to a hop that then failed (refused by the guard, unreachable) got no later status
	 * line to move it into the chain; curl's count of redirects followed says it was followed. */
	long followed = 0;
	curl_easy_getinfo(x->easy, CURLINFO_REDIRECT_COUNT, &followed);
	if (rc != CURLE_OK && x->status >= 300 && x->status < 400 && x->cur_url && followed > (long)x->n_chain)
		xfer_chain_push(x);
	xfer_fill_response(x, rc, &r);
	char *msg = xfer_outcome(x, rc, cancelled, &r.error_kind);
	r.error = msg;
	log_debug("http: %s -> %ld, %zu bytes, %.3f s%s%s", x->url, r.status, r.body.len, r.total_time_s,
	          msg ? ": " : "", msg ? msg : "");
	c->depth++;
	x->cb(&r, x->arg);
	c->depth--;
	buf_free(&r.body);
	free(msg);
	xfer_free(x);
}

static void client_cancel_active(struct http_client *c)
{
	for (struct http_xfer *x = c->head; x; x = x->next)
		x->cancel_mark = true;
	/* marked requests form a prefix: callbacks append new ones at the tail, unmarked */
	while (c->head && c->head->cancel_mark)
		http_xfer_finish(c->head, CURLE_ABORTED_BY_CALLBACK, true);
}

size_t http_pending(const struct http_client *c)
{
	return c->n_active;
}

/* ---- client ---- */

struct http_client *http_client_new(struct ev_loop *loop, const struct http_client_opts *opts)
{
	struct http_client *c = xcalloc(1, sizeof *c);
	c->loop = loop;
	c->opts = *opts;
	c->opts.user_agent = xstrdup(opts->user_agent ? opts->user_agent : HTTP_DEFAULT_UA);
	c->opts.ca_info = opts->ca_info ? xstrdup(opts->ca_info) : NULL;
	client_parse_networks(c, opts);
	c->multi = curl_multi_init();
	if (!c->multi)
		abort(); /* only on out-of-memory */
	curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, opts->max_total_connections);
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, opts->max_host_connections);
	if (opts->max_total_connections > 0)
		curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, opts->max_total_connections);
	curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	http_loop_init(c);
	return c;
}

static void client_destroy(struct http_client *c)
{
	http_loop_stop(c);
	for (size_t i = 0; i < c->n_idle; i++)
		curl_easy_cleanup(c->idle[i]);
	free(c->idle);
	curl_multi_cleanup(c->multi);
	free((char *)c->opts.user_agent);
	free((char *)c->opts.ca_info);
	free(c->nets);
	free(c);
}

bool http_client_reap_deferred(struct http_client *c)
{
	if (!c->free_pending || c->depth > 0)
		return false;
	client_destroy(c);
	return true;
}

void http_cancel_all(struct http_client *c)
{
	client_cancel_active(c);
	http_client_reap_deferred(c); /* a callback may have freed the client */
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	if (!c->closing) {
		c->closing = true;
		client_cancel_active(c);
	}
	if (c->depth > 0) {
		c->free_pending = true; /* the outermost callback's caller frees it */
		return;
	}
	client_destroy(c);
}
