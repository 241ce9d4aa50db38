/* The converter child and the parent's watchers; see docconv.h. */
#include "lib/doc/docconv.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/doc/docwire.h"
#include "lib/util/buf.h"
#include "lib/util/mem.h"

#if defined(__SANITIZE_ADDRESS__)
#define DOCCONV_NO_RLIMIT_AS 1 /* ASan reserves terabytes of address space: RLIMIT_AS would stop it at once */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DOCCONV_NO_RLIMIT_AS 1
#endif
#endif

#define REAP_POLL 0.001 /* seconds between reap attempts once the pipe is closed */

struct docconv {
	struct ev_loop *loop;
	ev_io io;
	ev_timer deadline, reap;
	pid_t pid;
	int fd;
	bool eof, killed_for_time, flooded, reaped;
	int wstatus;
	double cpu; /* seconds of CPU the child used (from wait4) */
	struct buf in;
	size_t cap; /* the most bytes a well-behaved child sends */
	struct doc_limits lim;
	docconv_cb cb;
	void *arg;
	double started;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(3);
		p += w;
		n -= (size_t)w;
	}
}

/* In the child: limits, then the conversion, then the record; _exit skips the parent's atexit handlers and
 * stdio buffers, and leaves its database connections to the parent. */
static void child_main(int fd, docconv_fn fn, const char *data, size_t len, const struct doc_limits *lim,
                       pid_t parent)
{
	/* a worker killed outright (SIGKILL, OOM) takes its converters along instead of leaving them to spin up to
	 * their CPU limit; the check after it covers a parent that died before the call */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) { /* poppler reports syntax errors on stderr: not the worker's log */
		dup2(devnull, STDERR_FILENO);
		dup2(devnull, STDIN_FILENO);
	}
	struct rlimit cpu = {(rlim_t)lim->cpu_seconds, (rlim_t)lim->cpu_seconds + 1};
	setrlimit(RLIMIT_CPU, &cpu);
#ifndef DOCCONV_NO_RLIMIT_AS
	struct rlimit as = {(rlim_t)lim->memory_bytes, (rlim_t)lim->memory_bytes};
	setrlimit(RLIMIT_AS, &as);
#endif
	struct doc_text doc;
	char *err = NULL;
	enum doc_status st = fn(data, len, lim, &doc, &err);
	struct buf out = BUF_INIT;
	docwire_encode(st, err, &doc, &out);
	write_all(fd, out.data, out.len);
	_exit(0);
}

static const char *signal_name(int sig)
{
	const char *s = strsignal(sig);
	return s ? s : "unknown signal";
}

/* The outcome from the child's exit status and record. */
static void finish(struct docconv *c)
{
	struct docconv_result res = {0};
	res.seconds = now_s() - c->started;
	int ws = c->wstatus;
	if (c->killed_for_time) {
		res.status = DOC_FAILED;
		res.reason = xasprintf("document conversion timed out after %d ms", c->lim.timeout_ms);
	} else if (c->flooded) {
		res.status = DOC_FAILED;
		res.reason = xasprintf("document converter sent more than %zu bytes", c->cap);
	} else if (WIFSIGNALED(ws)) {
		int sig = WTERMSIG(ws);
		res.status = DOC_FAILED;
		/* SIGXCPU at the soft limit; SIGKILL at the hard one (a second later), else from the OOM killer */
		if (sig == SIGXCPU || (sig == SIGKILL && c->cpu >= c->lim.cpu_seconds))
			res.reason = xasprintf("document conversion exceeded its CPU limit of %d s (signal %d, %s)",
			                       c->lim.cpu_seconds, sig, signal_name(sig));
		else
			res.reason = xasprintf("document converter crashed: signal %d (%s); its memory limit is %zu MiB",
			                       sig, signal_name(sig), c->lim.memory_bytes >> 20);
	} else if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
		res.status = DOC_FAILED;
		res.reason = xasprintf("document converter failed (exit status %d)", WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
	} else if (docwire_decode(c->in.data ? c->in.data : "", c->in.len, &res.status, &res.reason, &res.doc) != 0) {
		res.status = DOC_FAILED;
		res.reason = xstrdup("document converter returned a malformed result");
	}
	docconv_cb cb = c->cb;
	void *arg = c->arg;
	buf_free(&c->in);
	free(c);
	cb(&res, arg);
}

static void stop_watchers(struct docconv *c)
{
	ev_io_stop(c->loop, &c->io);
	ev_timer_stop(c->loop, &c->deadline);
	ev_timer_stop(c->loop, &c->reap);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static bool try_reap(struct docconv *c)
{
	pid_t r;
	struct rusage ru;
	memset(&ru, 0, sizeof(ru));
	do
		r = wait4(c->pid, &c->wstatus, WNOHANG, &ru);
	while (r < 0 && errno == EINTR);
	c->cpu = tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
	if (r == c->pid || (r < 0 && errno == ECHILD)) {
		c->reaped = true;
		return true;
	}
	return false;
}

static void on_reap(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct docconv *c = w->data;
	if (try_reap(c)) {
		stop_watchers(c);
		finish(c);
	}
}

static void kill_and_reap(struct docconv *c)
{
	kill(c->pid, SIGKILL);
	while (waitpid(c->pid, &c->wstatus, 0) < 0 && errno == EINTR) {
	}
	c->reaped = true;
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct docconv *c = w->data;
	c->killed_for_time = true;
	kill_and_reap(c); /* SIGKILL cannot be caught: the wait is for the kernel to tear the child down */
	stop_watchers(c);
	finish(c);
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct docconv *c = w->data;
	char tmp[65536];
	for (;;) {
		ssize_t n = read(c->fd, tmp, sizeof(tmp));
		if (n > 0) {
			if (c->in.len + (size_t)n > c->cap) { /* a child that lies about its bounds */
				c->flooded = true;
				kill(c->pid, SIGKILL);
				c->eof = true;
				break;
			}
			buf_append(&c->in, tmp, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		c->eof = true; /* end of file, or an error that ends the stream the same way */
		break;
	}
	ev_io_stop(loop, &c->io);
	if (try_reap(c)) {
		stop_watchers(c);
		finish(c);
	} else { /* the child closed the pipe by exiting: its status follows within moments */
		ev_timer_start(loop, &c->reap);
	}
}

struct docconv *docconv_start(struct ev_loop *loop, const char *data, size_t len, const struct doc_limits *lim,
                              docconv_cb cb, void *arg)
{
	return docconv_start_fn(loop, doc_extract, data, len, lim, cb, arg);
}

struct docconv *docconv_start_fn(struct ev_loop *loop, docconv_fn fn, const char *data, size_t len,
                                 const struct doc_limits *lim, docconv_cb cb, void *arg)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		return NULL;
	struct docconv *c = xcalloc(1, sizeof(*c));
	c->lim = lim ? *lim : (struct doc_limits){0};
	doc_limits_default(&c->lim);
	c->cap = c->lim.max_output_bytes + c->lim.max_pages * 8 + 4 * DOCWIRE_META_MAX + 4096;
	c->started = now_s();
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(fds[0]);
		close(fds[1]);
		free(c);
		errno = e;
		return NULL;
	}
	if (pid == 0) {
		close(fds[0]);
		child_main(fds[1], fn, data, len, &c->lim, parent);
	}
	close(fds[1]);
	fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
	c->loop = loop;
	c->pid = pid;
	c->fd = fds[0];
	c->cb = cb;
	c->arg = arg;
	ev_io_init(&c->io, on_readable, c->fd, EV_READ);
	c->io.data = c;
	ev_timer_init(&c->deadline, on_deadline, c->lim.timeout_ms / 1000.0, 0.);
	c->deadline.data = c;
	ev_timer_init(&c->reap, on_reap, REAP_POLL, REAP_POLL);
	c->reap.data = c;
	ev_io_start(loop, &c->io);
	ev_timer_start(loop, &c->deadline);
	return c;
}

void docconv_cancel(struct docconv *c)
{
	if (!c)
		return;
	if (!c->reaped)
		kill_and_reap(c);
	stop_watchers(c);
	buf_free(&c->in);
	free(c);
}

void docconv_result_free(struct docconv_result *res)
{
	free(res->reason);
	doc_text_free(&res->doc);
	memset(res, 0, sizeof(*res));
}

struct sync_state {
	bool done;
	struct docconv_result res;
};

static void on_sync_done(struct docconv_result *res, void *arg)
{
	struct sync_state *s = arg;
	s->res = *res;
	s->done = true;
}

enum doc_status docconv_run(const char *data, size_t len, const struct doc_limits *lim, struct doc_text *out,
                            char **err)
{
	return docconv_run_fn(doc_extract, data, len, lim, out, err);
}

enum doc_status docconv_run_fn(docconv_fn fn, const char *data, size_t len, const struct doc_limits *lim,
                               struct doc_text *out, char **err)
{
	memset(out, 0, sizeof(*out));
	*err = NULL;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	if (!loop) {
		*err = xstrdup("document converter: no event loop");
		return DOC_FAILED;
	}
	struct sync_state s = {0};
	if (!docconv_start_fn(loop, fn, data, len, lim, on_sync_done, &s)) {
		*err = xasprintf("document converter: cannot fork: %s", strerror(errno));
		ev_loop_destroy(loop);
		return DOC_FAILED;
	}
	while (!s.done)
		ev_run(loop, EVRUN_ONCE);
	ev_loop_destroy(loop);
	if (s.res.status == DOC_OK) {
		*out = s.res.doc;
		free(s.res.reason);
		return DOC_OK;
	}
	*err = s.res.reason;
	doc_text_free(&s.res.doc);
	return s.res.status;
}
