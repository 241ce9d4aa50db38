/* Unit tests: the libev-driven HTTP client against a tiny scriptable HTTP/1.1 server on 127.0.0.1. */
#include "lib/http/http.h"
#include "lib/util/mem.h"
#include "testlib.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* ---- a tiny scriptable HTTP/1.1 server in a thread (to move to tests/lib/httpd_test.c for reuse) ---- */

enum httpd_mode {
	HTTPD_BODY,   /* send resp.body with its Content-Length */
	HTTPD_STREAM, /* send `length` bytes of 'x' lazily as the socket drains; -1: until the peer closes */
	HTTPD_DRIP,   /* send `length` bytes of 'x', one per drip_ms */
	HTTPD_HANG,   /* never answer */
};

struct httpd_req {
	char method[16];
	char path[512];
	const char *head; /* header lines after the request line, NUL-terminated */
	const char *body;
	size_t body_len;
};

struct httpd_resp {
	int status;          /* 200 unless set */
	struct buf headers;  /* extra "Name: value\r\n" lines */
	struct buf body;
	enum httpd_mode mode;
	long long length;
	int drip_ms;
	bool close;          /* Connection: close after this response */
};

/* Runs in the server thread; fills resp for req. */
typedef void (*httpd_handler)(const struct httpd_req *req, struct httpd_resp *resp);

struct httpd_conn {
	int fd; /* -1: free slot */
	struct buf in, out;
	size_t out_off;
	bool busy; /* a response is under way */
	enum httpd_mode mode;
	long long left;
	int drip_ms;
	double next_drip;
	bool close_after;
};

#define HTTPD_MAX_CONNS 64

struct httpd {
	int lfd, wake[2], port;
	pthread_t thread;
	httpd_handler fn;
	struct httpd_conn conns[HTTPD_MAX_CONNS];
	atomic_long accepted, requests, open, max_open, aborted, sent;
};

static char httpd_filler[65536];

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Copies the trimmed value of header `name` from head into out; false if absent. */
static bool httpd_header(const char *head, const char *name, char *out, size_t outsz)
{
	size_t nlen = strlen(name);
	for (const char *l = head; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (strncasecmp(l, name, nlen) != 0 || l[nlen] != ':')
			continue;
		const char *v = l + nlen + 1, *e = v + strcspn(v, "\r\n");
		while (*v == ' ')
			v++;
		snprintf(out, outsz, "%.*s", (int)(e - v), v);
		return true;
	}
	return false;
}

static const char *httpd_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 404: return "Not Found";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	default: return "Whatever";
	}
}

static void httpd_close(struct httpd *s, struct httpd_conn *c)
{
	if (c->busy)
		s->aborted++;
	close(c->fd);
	c->fd = -1;
	buf_free(&c->in);
	buf_free(&c->out);
	s->open--;
}

static void httpd_begin(struct httpd_conn *c, struct httpd_resp *r)
{
	buf_reset(&c->out);
	c->out_off = 0;
	c->busy = true;
	c->mode = r->mode;
	c->left = r->length;
	c->drip_ms = r->drip_ms;
	c->next_drip = now_s() + r->drip_ms / 1000.0;
	c->close_after = r->close || (r->mode == HTTPD_STREAM && r->length < 0);
	if (r->mode == HTTPD_HANG)
		return;
	buf_printf(&c->out, "HTTP/1.1 %d %s\r\n", r->status, httpd_reason(r->status));
	buf_append(&c->out, buf_str(&r->headers), r->headers.len);
	if (r->mode == HTTPD_BODY)
		buf_printf(&c->out, "Content-Length: %zu\r\n", r->body.len);
	else if (r->length >= 0)
		buf_printf(&c->out, "Content-Length: %lld\r\n", r->length);
	if (c->close_after)
		buf_puts(&c->out, "Connection: close\r\n");
	buf_puts(&c->out, "\r\n");
	if (r->mode == HTTPD_BODY)
		buf_append(&c->out, buf_str(&r->body), r->body.len);
}

/* Handles one complete request from c->in, if there is one; false otherwise. */
static bool httpd_request(struct httpd *s, struct httpd_conn *c)
{
	char *end = c->in.len ? memmem(c->in.data, c->in.len, "\r\n\r\n", 4) : NULL;
	if (!end)
		return false;
	size_t head_len = (size_t)(end - c->in.data) + 4;
	char *head = xstrndup(c->in.data, head_len), cl[32];
	size_t body_len = httpd_header(head, "content-length", cl, sizeof cl) ? (size_t)atol(cl) : 0;
	if (c->in.len < head_len + body_len) {
		free(head);
		return false;
	}
	struct httpd_req req = {.body = c->in.data + head_len, .body_len = body_len};
	sscanf(head, "%15s %511s", req.method, req.path);
	req.head = strchr(head, '\n') + 1;
	struct httpd_resp resp = {.status = 200};
	s->requests++;
	s->fn(&req, &resp);
	httpd_begin(c, &resp);
	buf_free(&resp.headers);
	buf_free(&resp.body);
	free(head);
	memmove(c->in.data, c->in.data + head_len + body_len, c->in.len - head_len - body_len);
	c->in.len -= head_len + body_len;
	return true;
}

/* Queues more response bytes: 1 if it did, 0 if none are due yet, -1 when the response is complete. */
static int httpd_refill(struct httpd_conn *c)
{
	if (c->mode == HTTPD_HANG)
		return 0;
	if (c->mode == HTTPD_BODY || c->left == 0)
		return -1;
	if (c->mode == HTTPD_DRIP) {
		if (now_s() < c->next_drip)
			return 0;
		c->next_drip += c->drip_ms / 1000.0;
		buf_putc(&c->out, 'x');
		c->left--;
		return 1;
	}
	long long n = (long long)sizeof httpd_filler;
	if (c->left >= 0 && c->left < n)
		n = c->left;
	buf_append(&c->out, httpd_filler, (size_t)n);
	if (c->left > 0)
		c->left -= n;
	return 1;
}

/* Sends what it can; -1 when the connection must close. */
static int httpd_write(struct httpd *s, struct httpd_conn *c)
{
	for (;;) {
		if (c->out_off == c->out.len) {
			buf_reset(&c->out);
			c->out_off = 0;
			if (!c->busy)
				return httpd_request(s, c) ? httpd_write(s, c) : 0;
			int r = httpd_refill(c);
			if (r == 0)
				return 0;
			if (r < 0) {
				c->busy = false;
				if (c->close_after)
					return -1;
				continue;
			}
		}
		ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
		c->out_off += (size_t)n;
		s->sent += n;
	}
}

static int httpd_read(struct httpd *s, struct httpd_conn *c)
{
	char tmp[16384];
	ssize_t n = recv(c->fd, tmp, sizeof tmp, MSG_DONTWAIT);
	if (n == 0)
		return -1;
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
	buf_append(&c->in, tmp, (size_t)n);
	return 0;
}

static void httpd_accept(struct httpd *s)
{
	int fd;
	while ((fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct httpd_conn *c = NULL;
		for (int i = 0; i < HTTPD_MAX_CONNS && !c; i++)
			if (s->conns[i].fd < 0)
				c = &s->conns[i];
		if (!c) {
			close(fd);
			continue;
		}
		memset(c, 0, sizeof *c);
		c->fd = fd;
		s->accepted++;
		long open = ++s->open;
		if (open > s->max_open)
			s->max_open = open;
	}
}

static void *httpd_main(void *arg)
{
	struct httpd *s = arg;
	struct pollfd pfd[2 + HTTPD_MAX_CONNS];
	int idx[2 + HTTPD_MAX_CONNS];
	for (;;) {
		int n = 0, timeout = 200;
		pfd[n++] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
		for (int i = 0; i < HTTPD_MAX_CONNS; i++) {
			struct httpd_conn *c = &s->conns[i];
			if (c->fd < 0)
				continue;
			short ev = POLLIN;
			if (c->out_off < c->out.len || (c->busy && c->mode == HTTPD_STREAM))
				ev |= POLLOUT;
			if (c->busy && c->mode == HTTPD_DRIP) {
				int ms = (int)((c->next_drip - now_s()) * 1000) + 1;
				timeout = ms < 0 ? 0 : ms < timeout ? ms : timeout;
			}
			idx[n] = i;
			pfd[n++] = (struct pollfd){.fd = c->fd, .events = ev};
		}
		if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			break;
		if (pfd[1].revents & POLLIN)
			httpd_accept(s);
		for (int k = 2; k < n; k++) {
			struct httpd_conn *c = &s->conns[idx[k]];
			if ((pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) && httpd_read(s, c) < 0) {
				httpd_close(s, c);
				continue;
			}
			if (httpd_write(s, c) < 0)
				httpd_close(s, c);
		}
	}
	for (int i = 0; i < HTTPD_MAX_CONNS; i++)
		if (s->conns[i].fd >= 0)
			httpd_close(s, &s->conns[i]);
	return NULL;
}

static struct httpd *httpd_start(httpd_handler fn)
{
	struct httpd *s = xcalloc(1, sizeof *s);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	int one = 1;
	memset(httpd_filler, 'x', sizeof httpd_filler);
	s->fn = fn;
	for (int i = 0; i < HTTPD_MAX_CONNS; i++)
		s->conns[i].fd = -1;
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s->lfd, 128) < 0 ||
	    getsockname(s->lfd, (struct sockaddr *)&sa, &len) < 0 || pipe2(s->wake, O_CLOEXEC) < 0) {
		perror("httpd_start");
		abort();
	}
	s->port = ntohs(sa.sin_port);
	if (pthread_create(&s->thread, NULL, httpd_main, s) != 0)
		abort();
	return s;
}

static void httpd_stop(struct httpd *s)
{
	if (write(s->wake[1], "x", 1) != 1)
		abort();
	pthread_join(s->thread, NULL);
	close(s->lfd);
	close(s->wake[0]);
	close(s->wake[1]);
	free(s);
}

/* ---- the script the tests run against ---- */

static atomic_int loop_hits, gzip_sent;
static const char gzip_text_unit[] = "gzip me, please. ";

static void gzip_body(struct buf *out, const char *text, size_t len)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	unsigned char tmp[65536];
	z.next_in = (unsigned char *)text;
	z.avail_in = (uInt)len;
	z.next_out = tmp;
	z.avail_out = sizeof tmp;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		abort();
	buf_append(out, tmp, sizeof tmp - z.avail_out);
	deflateEnd(&z);
}

static void script(const struct httpd_req *req, struct httpd_resp *r)
{
	const char *p = req->path;
	char v[256];
	if (strcmp(p, "/hello") == 0) {
		buf_puts(&r->headers, "Content-Type: text/plain; charset=utf-8\r\nETag: \"v1\"\r\n"
		                      "Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\n");
		buf_puts(&r->body, "hello, world\n");
	} else if (strcmp(p, "/binary") == 0) {
		buf_append(&r->body, "a\0b\0c", 5);
	} else if (strncmp(p, "/n/", 3) == 0) {
		buf_printf(&r->body, "item %s", p + 3);
	} else if (strcmp(p, "/etag") == 0) {
		if (httpd_header(req->head, "if-none-match", v, sizeof v) && strcmp(v, "\"v1\"") == 0) {
			r->status = 304;
		} else {
			buf_puts(&r->headers, "ETag: \"v1\"\r\n");
			buf_puts(&r->body, "fresh");
		}
	} else if (strncmp(p, "/redir/", 7) == 0) {
		int n = atoi(p + 7);
		if (n > 0) {
			r->status = 302;
			buf_printf(&r->headers, "Location: /redir/%d\r\n", n - 1);
			buf_puts(&r->body, "moved");
		} else {
			buf_puts(&r->body, "done");
		}
	} else if (strncmp(p, "/to/", 4) == 0) { /* "/to/URL": a redirect to URL */
		r->status = 302;
		buf_printf(&r->headers, "Location: %s\r\n", p + 4);
	} else if (strcmp(p, "/loop") == 0) {
		loop_hits++;
		r->status = 302;
		buf_puts(&r->headers, "Location: /loop\r\n");
	} else if (strcmp(p, "/big") == 0) {
		r->mode = HTTPD_STREAM; /* no Content-Length: only the byte count can stop the client */
		r->length = -1;
	} else if (strcmp(p, "/bigcl") == 0) {
		r->mode = HTTPD_STREAM;
		r->length = 1LL << 30;
	} else if (strcmp(p, "/drip") == 0) {
		r->mode = HTTPD_DRIP;
		r->length = 100;
		r->drip_ms = 1000;
	} else if (strcmp(p, "/500") == 0) {
		r->status = 500;
		buf_puts(&r->body, "boom");
	} else if (strcmp(p, "/429") == 0) {
		r->status = 429;
		buf_puts(&r->headers, "Retry-After: 7\r\n");
	} else if (strcmp(p, "/gzip") == 0) {
		struct buf text = BUF_INIT;
		for (int i = 0; i < 500; i++)
			buf_puts(&text, gzip_text_unit);
		if (httpd_header(req->head, "accept-encoding", v, sizeof v) && strstr(v, "gzip")) {
			gzip_sent++;
			buf_puts(&r->headers, "Content-Encoding: gzip\r\n");
			gzip_body(&r->body, text.data, text.len);
		} else {
			buf_append(&r->body, text.data, text.len);
		}
		buf_free(&text);
	} else if (strcmp(p, "/echo") == 0) {
		buf_printf(&r->body, "%s\n", req->method);
		buf_printf(&r->body, "%s\n", httpd_header(req->head, "content-type", v, sizeof v) ? v : "-");
		buf_printf(&r->body, "%s\n", httpd_header(req->head, "authorization", v, sizeof v) ? v : "-");
		buf_append(&r->body, req->body, req->body_len);
	} else if (strcmp(p, "/hang") == 0) {
		r->mode = HTTPD_HANG;
	} else {
		r->status = 404;
	}
}

/* ---- client-side helpers ---- */

struct got {
	int calls;
	int *done; /* shared completion counter */
	enum http_error kind;
	int curl_code;
	long status, num_connects;
	char *error, *effective_url, *content_type, *etag, *last_modified, *retry_after, *location;
	char *primary_ip;
	char **redirects;
	size_t n_redirects;
	struct buf body;
	bool truncated;
};

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void on_done(struct http_response *r, void *arg)
{
	struct got *g = arg;
	if (g->calls++ == 0) {
		g->kind = r->error_kind;
		g->curl_code = r->curl_code;
		g->status = r->status;
		g->num_connects = r->num_connects;
		g->error = dup_or_null(r->error);
		g->effective_url = dup_or_null(r->effective_url);
		g->content_type = dup_or_null(r->content_type);
		g->etag = dup_or_null(r->etag);
		g->last_modified = dup_or_null(r->last_modified);
		g->retry_after = dup_or_null(r->retry_after);
		g->location = dup_or_null(r->location);
		g->primary_ip = dup_or_null(r->primary_ip);
		g->n_redirects = r->n_redirects;
		g->redirects = xcalloc(r->n_redirects + 1, sizeof *g->redirects);
		for (size_t i = 0; i < r->n_redirects; i++)
			g->redirects[i] = xstrdup(r->redirects[i]);
		g->truncated = r->truncated;
		g->body = r->body; /* the callback may take the body */
		memset(&r->body, 0, sizeof r->body);
	}
	(*g->done)++;
}

static void got_free(struct got *g)
{
	char **strs[] = {&g->error, &g->effective_url, &g->content_type, &g->etag, &g->last_modified,
	                 &g->retry_after, &g->location, &g->primary_ip};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		free(*strs[i]);
	for (size_t i = 0; i < g->n_redirects; i++)
		free(g->redirects[i]);
	free(g->redirects);
	buf_free(&g->body);
}

struct fx {
	struct ev_loop *loop;
	struct httpd *srv;
	struct http_client *client;
	int done;
	char base[64];
};

static void fx_start(struct fx *f, const struct http_client_opts *opts)
{
	struct http_client_opts o;
	http_client_opts_init(&o);
	o.allow_private = true;
	memset(f, 0, sizeof *f);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	f->srv = httpd_start(script);
	snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", f->srv->port);
	f->client = http_client_new(f->loop, opts ? opts : &o);
}

static void fx_stop(struct fx *f)
{
	http_client_free(f->client);
	httpd_stop(f->srv);
	ev_loop_destroy(f->loop);
}

/* Starts GET base+path, reporting into g. */
static void fx_get(struct fx *f, const char *path, struct got *g)
{
	char *url = xasprintf("%s%s", f->base, path);
	struct http_request req = {.method = HTTP_GET, .url = url};
	g->done = &f->done;
	ASSERT_INT_EQ(http_request(f->client, &req, on_done, g), 0);
	free(url);
}

struct waiter {
	bool (*pred)(void *);
	void *arg;
	double deadline;
};

static void waiter_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct waiter *wt = w->data;
	if (wt->pred(wt->arg) || now_s() > wt->deadline)
		ev_break(loop, EVBREAK_ONE);
}

/* Runs the loop until pred(arg) holds or max_s passes; returns pred(arg). */
static bool run_until(struct ev_loop *loop, bool (*pred)(void *), void *arg, double max_s)
{
	struct waiter wt = {pred, arg, now_s() + max_s};
	ev_timer tick;
	ev_timer_init(&tick, waiter_tick, 0.01, 0.01);
	tick.data = &wt;
	ev_timer_start(loop, &tick);
	if (!pred(arg))
		ev_run(loop, 0);
	ev_timer_stop(loop, &tick);
	return pred(arg);
}

struct count_at_least {
	const int *n;
	int target;
};

static bool pred_count(void *arg)
{
	struct count_at_least *c = arg;
	return *c->n >= c->target;
}

/* Runs f's loop until `target` callbacks have run (30 s at most). */
static bool fx_wait(struct fx *f, int target)
{
	struct count_at_least c = {&f->done, target};
	return run_until(f->loop, pred_count, &c, 30.0);
}

struct atomic_at_least {
	atomic_long *v;
	long target;
};

static bool pred_atomic(void *arg)
{
	struct atomic_at_least *a = arg;
	return *a->v >= a->target;
}

static bool wait_server(struct fx *f, atomic_long *v, long target)
{
	struct atomic_at_least a = {v, target};
	return run_until(f->loop, pred_atomic, &a, 10.0);
}

static bool pred_never(void *arg)
{
	return false;
}

/* ---- tests ---- */

TEST(get_returns_status_body_and_headers)
{
	struct fx f;
	struct got g = {0}, b = {0};
	fx_start(&f, NULL);
	fx_get(&f, "/hello", &g);
	fx_get(&f, "/binary", &b);
	ASSERT_INT_EQ(http_pending(f.client), 2);
	ASSERT_TRUE(fx_wait(&f, 2));
	ASSERT_INT_EQ(g.calls, 1);
	ASSERT_INT_EQ(g.kind, HTTP_OK);
	ASSERT_TRUE(g.error == NULL);
	ASSERT_INT_EQ(g.curl_code, 0);
	ASSERT_INT_EQ(g.status, 200);
	ASSERT_STR_EQ(g.body.data, "hello, world\n");
	ASSERT_INT_EQ(g.body.len, 13);
	ASSERT_STR_EQ(g.content_type, "text/plain; charset=utf-8");
	ASSERT_STR_EQ(g.etag, "\"v1\"");
	ASSERT_STR_EQ(g.last_modified, "Mon, 01 Jan 2024 00:00:00 GMT");
	ASSERT_TRUE(g.retry_after == NULL && g.location == NULL);
	ASSERT_STR_CONTAINS(g.effective_url, "/hello");
	ASSERT_INT_EQ(g.n_redirects, 0);
	ASSERT_STR_EQ(g.primary_ip, "127.0.0.1");
	ASSERT_INT_EQ(b.status, 200);
	ASSERT_INT_EQ(b.body.len, 5);
	ASSERT_TRUE(b.body.data && memcmp(b.body.data, "a\0b\0c", 5) == 0);
	ASSERT_INT_EQ(http_pending(f.client), 0);
	got_free(&g);
	got_free(&b);
	fx_stop(&f);
}

TEST(extra_headers_are_sent_for_conditional_get)
{
	struct fx f;
	struct got fresh = {0}, same = {0};
	fx_start(&f, NULL);
	fx_get(&f, "/etag", &fresh);
	char *url = xasprintf("%s/etag", f.base);
	const char *hdrs[] = {"If-None-Match: \"v1\"", NULL};
	struct http_request req = {.method = HTTP_GET, .url = url, .headers = hdrs};
	same.done = &f.done;
	ASSERT_INT_EQ(http_request(f.client, &req, on_done, &same), 0);
	ASSERT_TRUE(fx_wait(&f, 2));
	ASSERT_INT_EQ(fresh.status, 200);
	ASSERT_STR_EQ(fresh.etag, "\"v1\"");
	ASSERT_STR_EQ(fresh.body.data, "fresh");
	ASSERT_INT_EQ(same.kind, HTTP_OK);
	ASSERT_INT_EQ(same.status, 304);
	ASSERT_INT_EQ(same.body.len, 0);
	free(url);
	got_free(&fresh);
	got_free(&same);
	fx_stop(&f);
}

TEST(many_concurrent_requests_share_few_connections)
{
	enum { N = 200 };
	struct fx f;
	struct http_client_opts o;
	http_client_opts_init(&o);
	o.allow_private = true;
	o.max_total_connections = 8;
	o.max_host_connections = 8;
	fx_start(&f, &o);
	struct got *g = xcalloc(N, sizeof *g);
	char path[32];
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof path, "/n/%d", i);
		fx_get(&f, path, &g[i]);
	}
	ASSERT_INT_EQ(http_pending(f.client), N);
	ASSERT_TRUE(fx_wait(&f, N));
	long connects = 0;
	int ok = 0;
	for (int i = 0; i < N; i++) {
		char want[32];
		snprintf(want, sizeof want, "item %d", i);
		if (g[i].calls == 1 && g[i].kind == HTTP_OK && g[i].status == 200 &&
		    strcmp(buf_str(&g[i].body), want) == 0)
			ok++;
		connects += g[i].num_connects;
		got_free(&g[i]);
	}
	ASSERT_INT_EQ(ok, N);
	ASSERT_INT_EQ(f.srv->requests, N);
	ASSERT_TRUE(f.srv->accepted >= 1 && f.srv->accepted <= 8);
	ASSERT_TRUE(f.srv->max_open <= 8);
	ASSERT_INT_EQ(connects, f.srv->accepted);
	free(g);
	fx_stop(&f);
}

TEST(redirect_chain_is_recorded)
{
	struct fx f;
	struct got g = {0};
	fx_start(&f, NULL);
	fx_get(&f, "/redir/3", &g);
	ASSERT_TRUE(fx_wait(&f, 1));
	ASSERT_INT_EQ(g.kind, HTTP_OK);
	ASSERT_INT_EQ(g.status, 200);
	ASSERT_STR_EQ(g.body.data, "done");
	ASSERT_INT_EQ(g.n_redirects, 3);
	if (g.n_redirects == 3) {
		char *u[4];
		for (int i = 0; i < 4; i++)
			u[i] = xasprintf("%s/redir/%d", f.base, 3 - i);
		ASSERT_STR_EQ(g.redirects[0], u[0]);
		ASSERT_STR_EQ(g.redirects[1], u[1]);
		ASSERT_STR_EQ(g.redirects[2], u[2]);
		ASSERT_STR_EQ(g.effective_url, u[3]);
		for (int i = 0; i < 4; i++)
			free(u[i]);
	}
	got_free(&g);
	fx_stop(&f);
}

TEST(redirect_loop_stops_at_max_redirects)
{
	struct fx f;
	struct got g = {0};
	struct http_client_opts o;
	http_client_opts_init(&o);
	o.allow_private = true;
	o.max_redirects = 4;
	fx_start(&f, &o);
	loop_hits = 0;
	fx_get(&f, "/loop", &g);
	ASSERT_TRUE(fx_wait(&f, 1));
	ASSERT_INT_EQ(g.kind, HTTP_ERR_REDIRECTS);
	ASSERT_INT_EQ(g.curl_code, CURLE_TOO_MANY_REDIRECTS);
	ASSERT_STR_CONTAINS(g.error, "too many redirects: stopped after 4 (max_redirects)");
	ASSERT_INT_EQ(g.status, 302);
	ASSERT_INT_EQ(loop_hits, 5);
	ASSERT_INT_EQ(g.n_redirects, 4);
	got_free(&g);
	fx_stop(&f);
}

TEST(no_redirects_followed_returns_the_3xx)
{
	struct fx f;
	struct got g = {0};
	struct http_client_opts o;
	http_client_opts_init(&o);
	o.allow_private = true;
	o.max_redirects = 0;
	fx_start(&f, &o);
	fx_get(&f, "/redir/1", &g);
	ASSERT_TRUE(fx_wait(&f, 1));
	ASSERT_INT_EQ(g.kind, HTTP_OK);
	ASSERT_INT_EQ(g.status, 302);
	ASSERT_STR_EQ(g.location, "/redir/0");
	ASSERT_INT_EQ(g.n_redirects, 0);
	got_free(&g);
	fx_stop(&f);
}

static void check_too_large(const char *path, int curl_code)
{
	struct fx f;
	struct got g = {0};
	struct http_client_opts o;
	http_client_opts_init(&o);
	o.allow_private = true;
	o.max_body_bytes = 1 << 20;
	fx_start(&f, &o);
	fx_get(&f, path, &g);
	ASSERT_TRUE(fx_wait(&f, 1));
	ASSERT_INT_EQ(g.kind, HTTP_ERR_TOO_LARGE);
	ASSERT_INT_EQ(g.curl_code, curl_code);
	ASSERT_STR_EQ(g.error, "response body exceeds max_body_bytes (1048576 bytes)");
	ASSERT_TRUE(g.body.len <= (size_t)1 << 20);
	/* the client hung up: the server's 1 GB response ended early, long before it was all sent */
	ASSERT_TRUE(wait_server(&f, &f.srv->aborted, 1));
	ASSERT_TRUE(f.srv->sent < 64L << 20);
	got_free(&g);
	fx_stop(&f);
}

TEST(body_over_limit_without_length_is_aborted_early)
{
	check_too_large("/big", CURLE_WRITE_ERROR);
}

TEST(body_over_limit_with_length_is_refused_up_front)
{
	check_too_large("/bigcl", CURLE_FILESIZE_EXCEEDED);
}

/* body_cap: the first bytes of a body bigger than max_body_bytes, as a success (robots.txt's first 500 KiB) */
static void check_capped(const char *path)
{
	struct fx f;
	struct got g = {0};
	struct http_client_opts o;
	http_client_opts_init(&o);
	o.allow_private = true;
	o.max_body_bytes = 1024;
	fx_start(&f, &o);
	char *url = xasprintf("%s%s", f.base, path);
	struct http_request req = {.method = HTTP_GET, .url = url, .body_cap = 100000};
	g.done = &f.done;
	ASSERT_INT_EQ(http_request(f.client, &req, on_done, &g), 0);
	ASSERT_TRUE(fx_wait(&f, 1));
	ASSERT_INT_EQ(g.kind, HTTP_OK);
	ASSERT_TRUE(g.error == NULL);
	ASSERT_INT_EQ(g.status, 200);
	ASSERT_TRUE(g.truncated);
	ASSERT_INT_EQ((long long)g.body.len, 100000);
	ASSERT_TRUE(wait_server(&f, &f.srv->aborted, 1)); /* and the rest was never read */
	free(url);
	got_free(&g);
	fx_stop(&f);
}

TEST(body_cap_keeps_a_prefix_of_a_body_over_max_body_bytes)
{
	check_capped("/big");
	check_capped("/bigcl");
}

TEST(slow_server_is_aborted_by_low_speed_limit)
{
	struct fx f;
	struct got g = {0};
	struct http_client_opts o;
	http_client_opts_init(&o);
	o.allow_private = true;
	o.timeout_ms = 0;
	o.low_speed_bytes = 10;
	o.low_speed_secs = 2;
	fx_start(&f, &o);
	fx_get(&f, "/drip", &g); /* 100 bytes at one per second */
	ASSERT_TRUE(fx_wait(&f, 1));
	ASSERT_INT_EQ(g.kind, HTTP_ERR_TIMEOUT);
	ASSERT_INT_EQ(g.curl_code, CURLE_OPERATION_TIMEDOUT);
	ASSERT_STR_CONTAINS(g.error, "low-speed limit: less than 10 bytes/s for 2 s"); /* names the bound */
	ASSERT_TRUE(g.body.len < 100);
	ASSERT_TRUE(wait_server(&f, &f.srv->aborted, 1));
	got_free(&g);
	fx_stop(&f);
}

TEST(per_request_timeout_overrides_the_client_one)
{
	struct fx f;
	struct got g = {0};
	struct http_client_opts o;
	http_client_opts_init(&o);
	o.allow_private = true;
	o.timeout_ms = 0;
	fx_start(&f, &o);
	char *url = xasprintf("%s/drip", f.base);
	struct http_request req = {.method = HTTP_GET, .url = url, .timeout_ms = 1500};
	g.done = &f.done;
	ASSERT_INT_EQ(http_request(f.client, &req, on_done, &g), 0);
	ASSERT_TRUE(fx_wait(&f, 1));
	ASSERT_INT_EQ(g.kind, HTTP_ERR_TIMEOUT);
	ASSERT_STR_CONTAINS(g.error, "total timeout: no complete response within 1500 ms");
	ASSERT_INT_EQ(g.status, 200);
	ASSERT_TRUE(g.body.len < 100);
	free(url);
	got_free(&g);
	fx_stop(&f);
}

TEST(error_statuses_are_responses_not_transport_errors)
{
	struct fx f;
	struct got e = {0}, t = {0}, nf = {0};
	fx_start(&f, NULL);
	fx_get(&f, "/500", &e);
	fx_get(&f, "/429", &t);
	fx_get(&f, "/nope", &nf);
	ASSERT_TRUE(fx_wait(&f, 3));
	ASSERT_INT_EQ(e.kind, HTTP_OK);
	ASSERT_TRUE(e.error == NULL);
	ASSERT_INT_EQ(e.status, 500);
	ASSERT_STR_EQ(e.body.data, "boom");
	ASSERT_INT_EQ(t.status, 429);
	ASSERT_STR_EQ(t.retry_after, "7");
	ASSERT_INT_EQ(nf.kind, HTTP_OK);
	ASSERT_INT_EQ(nf.status, 404);
	got_free(&e);
	got_free(&t);
	got_free(&nf);
	fx_stop(&f);
}

TEST(connection_refused_is_a_connect_error)
{
	struct fx f;
	struct got g = {0};
	fx_start(&f, NULL);
	/* a bound socket that does not listen: connections to its port are refused */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	ASSERT_TRUE(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	ASSERT_TRUE(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	char *url = xasprintf("http://127.0.0.1:%d/", ntohs(sa.sin_port));
	struct http_request req = {.method = HTTP_GET, .url = url};
	g.done = &f.done;
	ASSERT_INT_EQ(http_request(f.client, &req, on_done, &g), 0);
	ASSERT_TRUE(fx_wait(&f, 1));
	ASSERT_INT_EQ(g.kind, HTTP_ERR_CONNECT);
	ASSERT_INT_EQ(g.curl_code, CURLE_COULDNT_CONNECT);
	ASSERT_TRUE(g.error != NULL && g.error[0] != '\0');
	ASSERT_INT_EQ(g.status, 0);
	close(fd);
	free(url);
	got_free(&g);
	fx_stop(&f);
}

TEST(private_addresses_are_refused_before_connecting)
{
	struct fx f;
	struct got v4 = {0}, v6 = {0}, name = {0};
	struct http_client_opts o;
	http_client_opts_init(&o);
	o.allow_private = false;
	fx_start(&f, &o);
	fx_get(&f, "/hello", &v4);
	char *u6 = xasprintf("http://[::1]:%d/hello", f.srv->port);
	char *un = xasprintf("http://localhost:%d/hello", f.srv->port);
	struct http_request r6 = {.method = HTTP_GET, .url = u6}, rn = {.method = HTTP_GET, .url = un};
	v6.done = name.done = &f.done;
	ASSERT_INT_EQ(http_request(f.client, &r6, on_done, &v6), 0);
	ASSERT_INT_EQ(http_request(f.client, &rn, on_done, &name), 0);
	ASSERT_TRUE(fx_wait(&f, 3));
	ASSERT_INT_EQ(v4.kind, HTTP_ERR_PRIVATE);
	ASSERT_STR_EQ(v4.error, "refused to connect to private address 127.0.0.1 (loopback, not public; "
	                        "allow it with crawl.allow_networks)");
	ASSERT_INT_EQ(v4.status, 0);
	ASSERT_INT_EQ(v6.kind, HTTP_ERR_PRIVATE);
	ASSERT_STR_CONTAINS(v6.error, "private address ::1 ");
	ASSERT_INT_EQ(name.kind, HTTP_ERR_PRIVATE);
	ASSERT_STR_CONTAINS(name.error, "refused to connect to private address");
	ASSERT_INT_EQ(f.srv->accepted, 0);
	ASSERT_INT_EQ(f.srv->requests, 0);
	free(u6);
	free(un);
	got_free(&v4);
	got_free(&v6);
	got_free(&name);
	fx_stop(&f);
}

TEST(allow_networks_admits_only_the_listed_private_networks)
{
	struct fx f;
	struct got ok = {0}, v6 = {0}, ten = {0}, meta = {0}, ula = {0};
	struct http_client_opts o;
	const char *const nets[] = {"127.0.0.0/8", "bogus", NULL};
	http_client_opts_init(&o);
	o.allow_private = false;
	o.allow_networks = nets;
	fx_start(&f, &o);
	fx_get(&f, "/hello", &ok);
	fx_get(&f, "/to/http://10.255.255.1/x", &ten);
	fx_get(&f, "/to/http://169.254.169.254/latest/meta-data/", &meta);
	fx_get(&f, "/to/http://[fd00::1]/", &ula);
	char *u6 = xasprintf("http://[::1]:%d/hello", f.srv->port);
	struct http_request r6 = {.method = HTTP_GET, .url = u6};
	v6.done = &f.done;
	ASSERT_INT_EQ(http_request(f.client, &r6, on_done, &v6), 0);
	ASSERT_TRUE(fx_wait(&f, 5));
	ASSERT_INT_EQ(ok.kind, HTTP_OK);
	ASSERT_INT_EQ(ok.status, 200);
	ASSERT_INT_EQ(v6.kind, HTTP_ERR_PRIVATE); /* ::1 is not in 127.0.0.0/8 */
	ASSERT_STR_EQ(v6.error, "refused to connect to private address ::1 (loopback, not public; "
	                        "allow it with crawl.allow_networks)");
	struct got *hops[] = {&ten, &meta, &ula};
	const char *ips[] = {"address 10.255.255.1 (private,", "address 169.254.169.254 (link-local,",
	                     "address fd00::1 (unique-local,"};
	for (size_t i = 0; i < 3; i++) {
		ASSERT_INT_EQ(hops[i]->kind, HTTP_ERR_PRIVATE);
		ASSERT_STR_CONTAINS(hops[i]->error, ips[i]);
		ASSERT_INT_EQ(hops[i]->status, 302); /* the last response received: the redirect */
		/* the hop that was refused is recorded: the redirecting URL is in the chain */
		ASSERT_INT_EQ(hops[i]->n_redirects, 1);
		if (hops[i]->n_redirects == 1)
			ASSERT_STR_CONTAINS(hops[i]->redirects[0], "/to/http");
	}
	ASSERT_STR_EQ(ten.effective_url, "http://10.255.255.1/x"); /* where it was refused */
	ASSERT_INT_EQ(f.srv->requests, 4); /* /hello and the three redirects; nothing reached ::1 */
	free(u6);
	got_free(&ok);
	got_free(&v6);
	got_free(&ten);
	got_free(&meta);
	got_free(&ula);
	fx_stop(&f);
}

TEST(only_http_and_https_are_allowed)
{
	struct fx f;
	struct got file = {0}, ftp = {0};
	fx_start(&f, NULL);
	struct http_request rf = {.method = HTTP_GET, .url = "file:///etc/passwd"};
	struct http_request rp = {.method = HTTP_GET, .url = "ftp://127.0.0.1/"};
	file.done = ftp.done = &f.done;
	ASSERT_INT_EQ(http_request(f.client, &rf, on_done, &file), 0);
	ASSERT_INT_EQ(http_request(f.client, &rp, on_done, &ftp), 0);
	ASSERT_TRUE(fx_wait(&f, 2));
	ASSERT_INT_EQ(file.kind, HTTP_ERR_URL);
	ASSERT_INT_EQ(file.body.len, 0);
	ASSERT_INT_EQ(ftp.kind, HTTP_ERR_URL);
	got_free(&file);
	got_free(&ftp);
	fx_stop(&f);
}

TEST(gzip_content_encoding_is_decoded)
{
	struct fx f;
	struct got g = {0};
	fx_start(&f, NULL);
	gzip_sent = 0;
	fx_get(&f, "/gzip", &g);
	ASSERT_TRUE(fx_wait(&f, 1));
	ASSERT_INT_EQ(gzip_sent, 1);
	ASSERT_INT_EQ(g.status, 200);
	ASSERT_INT_EQ(g.body.len, 500 * strlen(gzip_text_unit));
	ASSERT_TRUE(g.body.data && strncmp(g.body.data, gzip_text_unit, strlen(gzip_text_unit)) == 0);
	ASSERT_TRUE(f.srv->sent < 2000); /* it really went compressed */
	got_free(&g);
	fx_stop(&f);
}

TEST(post_sends_body_and_headers)
{
	struct fx f;
	struct got g = {0};
	fx_start(&f, NULL);
	char *url = xasprintf("%s/echo", f.base);
	const char *hdrs[] = {"Content-Type: application/json", "Authorization: Bearer s3cret", NULL};
	const char *json = "{\"input\":[\"a\",\"b\"],\"model\":\"m\"}";
	struct http_request req = {
		.method = HTTP_POST, .url = url, .headers = hdrs, .body = json, .body_len = strlen(json)};
	g.done = &f.done;
	ASSERT_INT_EQ(http_request(f.client, &req, on_done, &g), 0);
	ASSERT_TRUE(fx_wait(&f, 1));
	ASSERT_INT_EQ(g.status, 200);
	char *want = xasprintf("POST\napplication/json\nBearer s3cret\n%s", json);
	ASSERT_STR_EQ(g.body.data, want);
	free(want);
	free(url);
	got_free(&g);
	fx_stop(&f);
}

TEST(cancel_all_calls_every_callback_once)
{
	enum { N = 5 };
	struct fx f;
	struct got g[N];
	struct http_client_opts o;
	http_client_opts_init(&o);
	o.allow_private = true;
	o.max_total_connections = 2; /* two on the wire, three still queued */
	fx_start(&f, &o);
	memset(g, 0, sizeof g);
	for (int i = 0; i < N; i++)
		fx_get(&f, "/hang", &g[i]);
	ASSERT_TRUE(wait_server(&f, &f.srv->requests, 2));
	ASSERT_INT_EQ(f.done, 0);
	http_cancel_all(f.client);
	ASSERT_INT_EQ(f.done, N);
	ASSERT_INT_EQ(http_pending(f.client), 0);
	run_until(f.loop, pred_never, NULL, 0.3); /* nothing more may arrive */
	for (int i = 0; i < N; i++) {
		ASSERT_INT_EQ(g[i].calls, 1);
		ASSERT_INT_EQ(g[i].kind, HTTP_ERR_CANCELLED);
		ASSERT_STR_EQ(g[i].error, "cancelled");
		ASSERT_TRUE(g[i].curl_code != 0);
		got_free(&g[i]);
	}
	ASSERT_TRUE(wait_server(&f, &f.srv->aborted, 2));
	fx_stop(&f);
}

TEST(free_with_requests_in_flight_cancels_them)
{
	struct fx f;
	struct got a = {0}, b = {0};
	fx_start(&f, NULL);
	fx_get(&f, "/hang", &a);
	fx_get(&f, "/drip", &b);
	ASSERT_TRUE(wait_server(&f, &f.srv->requests, 2));
	http_client_free(f.client);
	f.client = NULL;
	ASSERT_INT_EQ(a.calls, 1);
	ASSERT_INT_EQ(b.calls, 1);
	ASSERT_INT_EQ(a.kind, HTTP_ERR_CANCELLED);
	ASSERT_INT_EQ(b.kind, HTTP_ERR_CANCELLED);
	got_free(&a);
	got_free(&b);
	fx_stop(&f);
}

struct chain_ctx {
	struct fx *f;
	struct got first, second, hang;
	bool free_client;
};

/* Completion of /hello: either starts another request or frees the client from inside the callback. */
static void on_first(struct http_response *r, void *arg)
{
	struct chain_ctx *cc = arg;
	on_done(r, &cc->first);
	if (cc->free_client) {
		http_client_free(cc->f->client);
		cc->f->client = NULL;
		return;
	}
	char *url = xasprintf("%s/n/2", cc->f->base);
	struct http_request req = {.method = HTTP_GET, .url = url};
	ASSERT_INT_EQ(http_request(cc->f->client, &req, on_done, &cc->second), 0);
	free(url);
}

TEST(callbacks_may_start_requests_or_free_the_client)
{
	struct fx f;
	struct chain_ctx cc = {.f = &f};
	fx_start(&f, NULL);
	cc.first.done = cc.second.done = &f.done;
	char *url = xasprintf("%s/hello", f.base);
	struct http_request req = {.method = HTTP_GET, .url = url};
	ASSERT_INT_EQ(http_request(f.client, &req, on_first, &cc), 0);
	ASSERT_TRUE(fx_wait(&f, 2));
	ASSERT_INT_EQ(cc.first.status, 200);
	ASSERT_INT_EQ(cc.second.calls, 1);
	ASSERT_STR_EQ(cc.second.body.data, "item 2");
	got_free(&cc.first);
	got_free(&cc.second);

	/* now free it from the callback while another request hangs */
	memset(&cc, 0, sizeof cc);
	cc.f = &f;
	cc.free_client = true;
	f.done = 0;
	fx_get(&f, "/hang", &cc.hang);
	cc.first.done = &f.done;
	ASSERT_INT_EQ(http_request(f.client, &req, on_first, &cc), 0);
	ASSERT_TRUE(fx_wait(&f, 2));
	ASSERT_TRUE(f.client == NULL);
	ASSERT_INT_EQ(cc.first.calls, 1);
	ASSERT_INT_EQ(cc.hang.calls, 1);
	ASSERT_INT_EQ(cc.hang.kind, HTTP_ERR_CANCELLED);
	free(url);
	got_free(&cc.first);
	got_free(&cc.hang);
	fx_stop(&f);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (http_global_init() != 0)
		return 1;
	int rc = test_main(argc, argv);
	http_global_cleanup();
	return rc;
}
