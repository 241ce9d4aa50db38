/* Supervisor: forking, reaping and respawning worker processes with restart spacing. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/util/log.h"
#include "lib/util/mem.h"
#include "workers/core/stats.h"
#include "cmd/supervisor/sup.h"
#include "workers/core/worker.h"

#define STABLE_AFTER 60.0 /* a child that ran this long resets its restart spacing */

double sup_clock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

const char *sup_child_name(const struct child *c)
{
	return c->metrics ? "metrics" : cfg_worker_kind_name(c->kind);
}

static struct child *add_child(struct sup *s)
{
	s->children = xrealloc(s->children, (size_t)(s->nchildren + 1) * sizeof *s->children);
	struct child *c = &s->children[s->nchildren++];
	memset(c, 0, sizeof *c);
	c->restart_at = s->now;
	c->delay = s->cfg.restart_delay_min_ms / 1000.0;
	return c;
}

void sup_add_children(struct sup *s)
{
	if (*s->cfg.metrics_listen) {
		struct child *m = add_child(s);
		m->metrics = true;
		m->slot = 1;
	}
	for (int k = 0; k < CFG_WORKER_KINDS; k++)
		for (int i = 0; i < s->cfg.workers[k].processes; i++) {
			struct child *c = add_child(s);
			c->kind = (enum cfg_worker_kind)k;
			c->slot = i + 1;
		}
}

static void child_main(struct sup *s, struct child *c)
{
	/* Back to a plain process: default signal dispositions, nothing blocked. */
	sigset_t none;
	sigemptyset(&none);
	const int sigs[] = {SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGALRM};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		signal(sigs[i], SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	close(s->parent_pipe[1]);
	sup_close_db();
	char tag[64];
	snprintf(tag, sizeof tag, "%s-%d", sup_child_name(c), c->slot);
	log_setup(tag, (enum log_level)s->cfg.log_level);
	int code;
	if (c->metrics) {
		code = sup_metrics_main(s);
	} else {
		struct worker_opts o = {.cfg = &s->cfg, .kind = c->kind, .worker_id = c->owner,
		                        .parent_fd = s->parent_pipe[0]};
		code = worker_main(&o);
	}
	cfg_free(&s->cfg);
	free(s->children);
	exit(code);
}

static void start_child(struct sup *s, struct child *c)
{
	snprintf(c->owner, sizeof c->owner, "%s:%d:%s-%d:%08x", s->host, (int)getpid(), sup_child_name(c), c->slot,
	         (unsigned)rand());
	pid_t pid = fork();
	if (pid < 0) {
		log_error("fork failed: %s; retrying in %.1fs", strerror(errno), c->delay);
		c->restart_at = s->now + c->delay;
		return;
	}
	if (pid == 0)
		child_main(s, c);
	c->pid = pid;
	c->started = s->now;
	if (c->metrics)
		log_info("started metrics (pid %d) on %s", (int)pid, s->cfg.metrics_listen);
	else
		log_info("started %s-%d (pid %d, lease owner %s)", sup_child_name(c), c->slot, (int)pid, c->owner);
}

double sup_start_due(struct sup *s)
{
	double next = -1;
	for (int i = 0; i < s->nchildren; i++) {
		struct child *c = &s->children[i];
		if (c->pid || c->retiring || c->fatal)
			continue;
		if (c->restart_at <= s->now)
			start_child(s, c);
		else if (next < 0 || c->restart_at - s->now < next)
			next = c->restart_at - s->now;
	}
	return next;
}

static void describe_status(int status, char *out, size_t n)
{
	if (WIFEXITED(status))
		snprintf(out, n, "exited with code %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, n, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(out, n, "stopped (status %d)", status);
}

static void on_child_exit(struct sup *s, struct child *c, int status, bool shutting_down)
{
	char how[96];
	describe_status(status, how, sizeof how);
	bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	int pid = (int)c->pid;
	stats_worker_release(c->pid); /* a worker that died may not have freed its slot */
	if (!c->metrics) {
		char *why = xasprintf("worker %s %s", c->owner, how);
		sup_handback(s, c->owner, why);
		free(why);
	}
	c->pid = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
		log_error("%s-%d %s: fatal configuration error, not restarting it", sup_child_name(c), c->slot, how);
		c->fatal = true;
		return;
	}
	if (shutting_down || c->retiring) {
		log_info("%s-%d (%s) %s", sup_child_name(c), c->slot, c->owner, how);
		c->retiring = true;
		return;
	}
	if (s->now - c->started >= STABLE_AFTER)
		c->delay = s->cfg.restart_delay_min_ms / 1000.0;
	c->restart_at = s->now + c->delay;
	log_msg(clean ? LOG_INFO : LOG_ERROR, "%s-%d (pid %d) %s; restarting in %.1fs", sup_child_name(c), c->slot, pid,
	        how, c->delay);
	c->delay *= 2;
	if (c->delay > s->cfg.restart_delay_max_ms / 1000.0)
		c->delay = s->cfg.restart_delay_max_ms / 1000.0;
}

int sup_reap(struct sup *s, bool shutting_down)
{
	int n = 0, status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < s->nchildren; i++)
			if (s->children[i].pid == pid) {
				on_child_exit(s, &s->children[i], status, shutting_down);
				n++;
			}
	}
	/* Forget retired children that are gone. */
	int j = 0;
	for (int i = 0; i < s->nchildren; i++)
		if (s->children[i].pid || !s->children[i].retiring)
			s->children[j++] = s->children[i];
	s->nchildren = j;
	return n;
}

void sup_signal_all(struct sup *s, int sig)
{
	for (int i = 0; i < s->nchildren; i++)
		if (s->children[i].pid)
			kill(s->children[i].pid, sig);
}

int sup_alive(const struct sup *s)
{
	int n = 0;
	for (int i = 0; i < s->nchildren; i++)
		n += s->children[i].pid != 0;
	return n;
}

void sup_retire_all(struct sup *s)
{
	for (int i = 0; i < s->nchildren; i++) {
		s->children[i].retiring = true;
		if (s->children[i].pid)
			kill(s->children[i].pid, SIGTERM);
	}
}
