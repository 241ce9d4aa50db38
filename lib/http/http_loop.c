/* libcurl multi on libev: an ev_io per socket curl names, one ev_timer for its timeouts, then reaping. */
#include "lib/http/http_int.h"

#include <stdlib.h>

#include "lib/util/log.h"
#include "lib/util/mem.h"

/* Hands every finished transfer to http.c. Callbacks may add or cancel transfers while we iterate: curl
 * drops the messages of handles removed meanwhile, and we read each message's fields before removing its
 * handle. */
static void loop_reap(struct http_client *c)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(c->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		CURL *easy = msg->easy_handle;
		CURLcode rc = msg->data.result;
		struct http_xfer *x = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
		if (!x) {
			log_error("http: finished transfer without its request");
			curl_multi_remove_handle(c->multi, easy);
			continue;
		}
		http_xfer_finish(x, rc, false);
		if (c->free_pending)
			break; /* a callback freed the client; everything left was cancelled */
	}
}

/* Runs one curl action on sock, then reaps; may free c (a callback called http_client_free). */
static void loop_action(struct http_client *c, curl_socket_t sock, int ev_bitmask)
{
	int running;
	CURLMcode mc = curl_multi_socket_action(c->multi, sock, ev_bitmask, &running);
	if (mc != CURLM_OK)
		log_error("http: curl_multi_socket_action: %s", curl_multi_strerror(mc));
	loop_reap(c);
	http_client_reap_deferred(c);
}

static void loop_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct http_sock *hs = w->data;
	int action = 0;
	if (revents & EV_READ)
		action |= CURL_CSELECT_IN;
	if (revents & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	if (revents & EV_ERROR)
		action |= CURL_CSELECT_ERR;
	/* hs may be freed by the action (curl removing the socket): read what we need first */
	loop_action(hs->client, w->fd, action);
}

static void loop_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	loop_action(w->data, CURL_SOCKET_TIMEOUT, 0);
}

static void sock_unlink_free(struct http_client *c, struct http_sock *hs)
{
	ev_io_stop(c->loop, &hs->io);
	if (hs->prev)
		hs->prev->next = hs->next;
	else
		c->socks = hs->next;
	if (hs->next)
		hs->next->prev = hs->prev;
	free(hs);
}

/* CURLMOPT_SOCKETFUNCTION: start, change or stop watching s. */
static int loop_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http_client *c = userp;
	struct http_sock *hs = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (hs) {
			curl_multi_assign(c->multi, s, NULL);
			sock_unlink_free(c, hs);
		}
		return 0;
	}
	int events = 0;
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	if (!hs) {
		hs = xcalloc(1, sizeof *hs);
		hs->client = c;
		hs->next = c->socks;
		if (c->socks)
			c->socks->prev = hs;
		c->socks = hs;
		ev_io_init(&hs->io, loop_io_cb, s, events);
		hs->io.data = hs;
		curl_multi_assign(c->multi, s, hs);
	} else {
		ev_io_stop(c->loop, &hs->io);
		ev_io_set(&hs->io, s, events);
	}
	if (events)
		ev_io_start(c->loop, &hs->io);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: -1 stops the timer; 0 means "act soon", which a 0 s timer does on the next loop
 * iteration (never call curl back from inside this callback). */
static int loop_timer_set_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_client *c = userp;
	ev_timer_stop(c->loop, &c->timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&c->timer, (double)timeout_ms / 1000.0, 0.0);
		ev_timer_start(c->loop, &c->timer);
	}
	return 0;
}

void http_loop_init(struct http_client *c)
{
	ev_timer_init(&c->timer, loop_timer_cb, 0.0, 0.0);
	c->timer.data = c;
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, loop_socket_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, loop_timer_set_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
}

void http_loop_stop(struct http_client *c)
{
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, NULL);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, NULL);
	while (c->socks)
		sock_unlink_free(c, c->socks);
	ev_timer_stop(c->loop, &c->timer);
}
