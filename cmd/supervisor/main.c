/* pgkb-supervisor: reads the config, forks crawl/ingest/embed workers, restarts crashed ones, drains on
 * SIGTERM/SIGINT, stops at once on SIGQUIT and reloads on SIGHUP. No event loop here: signals set flags and
 * the main loop waits in sigsuspend(). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/cfg/cfg.h"
#include "lib/util/log.h"
#include "workers/core/stats.h"
#include "cmd/supervisor/sup.h"

extern char **environ;

static volatile sig_atomic_t got_chld, got_term, got_quit, got_hup, got_alrm;

static void on_signal(int sig)
{
	switch (sig) {
	case SIGCHLD:
		got_chld = 1;
		break;
	case SIGTERM:
	case SIGINT:
		got_term = 1;
		break;
	case SIGQUIT:
		got_quit = 1;
		break;
	case SIGHUP:
		got_hup = 1;
		break;
	case SIGALRM:
		got_alrm = 1;
		break;
	}
}

static void arm_alarm(double seconds)
{
	struct itimerval it = {{0, 0}, {0, 0}};
	if (seconds > 0) {
		if (seconds < 0.01)
			seconds = 0.01;
		it.it_value.tv_sec = (time_t)seconds;
		it.it_value.tv_usec = (suseconds_t)((seconds - (double)it.it_value.tv_sec) * 1e6);
	}
	setitimer(ITIMER_REAL, &it, NULL);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: pgkb-supervisor [-c pgkb.yaml] [--check | --health live|ready]\n"
	           "  -c, --config FILE  configuration file (default: $PGKB_CONFIG, else defaults + environment)\n"
	           "      --check        validate the configuration, print it (secrets masked) and exit\n"
	           "      --health WHAT  ask the running supervisor (supervisor.metrics_listen) /healthz (live) or\n"
	           "                     /readyz (ready); exit 0 when healthy (for HEALTHCHECK and scripts)\n"
	           "Signals: TERM/INT drain and exit, QUIT stop at once, HUP reload the configuration.\n");
}

static const char *config_path(int argc, char **argv, bool *check, const char **health)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, 'k'},
		{"health", required_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = getenv("PGKB_CONFIG");
	int c;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'k':
			*check = true;
			break;
		case 'H':
			*health = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc) {
		usage(stderr);
		exit(2);
	}
	return path && *path ? path : NULL;
}

/* SIGHUP: a broken file keeps the old configuration; a good one replaces it and rolls the workers. */
static void reload(struct sup *s, const char *path)
{
	struct cfg next;
	char *err = NULL;
	if (cfg_load(&next, path, environ, &err) != 0) {
		log_error("reload failed, keeping the current configuration: %s", err);
		free(err);
		return;
	}
	log_info("configuration reloaded from %s; rolling the workers", path ? path : "the environment");
	sup_retire_all(s);
	cfg_free(&s->cfg);
	s->cfg = next;
	log_set_level((enum log_level)s->cfg.log_level);
	log_set_json(s->cfg.log_json);
	sup_add_children(s);
}

/* SIGTERM: drain; after drain_timeout plus a grace period, SIGKILL whatever is left. */
static int shutdown_drain(struct sup *s, sigset_t *waitmask)
{
	log_info("draining %d workers (timeout %.1fs)", sup_alive(s), s->cfg.drain_timeout_ms / 1000.0);
	sup_retire_all(s);
	double deadline = sup_clock() + s->cfg.drain_timeout_ms / 1000.0 + 10.0;
	bool killed = false;
	while (sup_alive(s) > 0) {
		s->now = sup_clock();
		if (s->now >= deadline && !killed) {
			log_warn("workers still running after the drain timeout: SIGKILL");
			sup_signal_all(s, SIGKILL);
			killed = true;
		}
		arm_alarm(killed ? 1.0 : deadline - s->now);
		if (!got_chld && !got_alrm && !got_quit)
			sigsuspend(waitmask);
		got_alrm = 0;
		if (got_quit) {
			got_quit = 0;
			sup_signal_all(s, SIGQUIT);
		}
		got_chld = 0;
		s->now = sup_clock();
		sup_reap(s, true);
	}
	return 0;
}

/* SIGQUIT: children stop at once; their leases are handed back as they are reaped. */
static int shutdown_now(struct sup *s, sigset_t *waitmask)
{
	log_info("stopping %d workers now (SIGQUIT)", sup_alive(s));
	sup_signal_all(s, SIGQUIT);
	double deadline = sup_clock() + 5.0;
	while (sup_alive(s) > 0) {
		s->now = sup_clock();
		if (s->now >= deadline)
			sup_signal_all(s, SIGKILL);
		arm_alarm(1.0);
		if (!got_chld && !got_alrm)
			sigsuspend(waitmask);
		got_chld = got_alrm = 0;
		s->now = sup_clock();
		sup_reap(s, true);
	}
	return 0;
}

int main(int argc, char **argv)
{
	bool check = false;
	const char *health = NULL;
	const char *path = config_path(argc, argv, &check, &health);
	static struct sup s;
	char *err = NULL;
	log_setup("supervisor", LOG_INFO);
	if (cfg_load(&s.cfg, path, environ, &err) != 0) {
		log_error("%s", err);
		free(err);
		return 2;
	}
	if (health) {
		int rc = sup_probe(&s.cfg, health);
		cfg_free(&s.cfg);
		return rc;
	}
	if (check) {
		char *dump = cfg_dump(&s.cfg);
		fputs(dump, stdout);
		free(dump);
		cfg_free(&s.cfg);
		return 0;
	}
	log_set_level((enum log_level)s.cfg.log_level);
	log_set_json(s.cfg.log_json);
	if (gethostname(s.host, sizeof s.host) != 0)
		snprintf(s.host, sizeof s.host, "localhost");
	s.host[sizeof s.host - 1] = '\0';
	srand((unsigned)(time(NULL) ^ getpid()));
	if (pipe(s.parent_pipe) != 0) {
		log_error("pipe: %s", strerror(errno));
		return 1;
	}

	sigset_t block, waitmask;
	sigemptyset(&block);
	const int sigs[] = {SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGALRM};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		sigaddset(&block, sigs[i]);
		struct sigaction sa = {.sa_handler = on_signal};
		sigemptyset(&sa.sa_mask);
		sigaction(sigs[i], &sa, NULL);
	}
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGCHLD);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigdelset(&waitmask, sigs[i]);

	if (!sup_check_pooler(&s.cfg))
		return 2;
	if (stats_init() != 0)
		log_warn("no shared memory for the worker counters (%s): metrics will lack them", strerror(errno));
	s.now = sup_clock();
	sup_add_children(&s);
	log_info("supervisor started (pid %d): %d workers", (int)getpid(), s.nchildren);
	int code = 0;
	for (;;) {
		s.now = sup_clock();
		double next = sup_start_due(&s);
		arm_alarm(next);
		if (!got_chld && !got_term && !got_quit && !got_hup && !got_alrm)
			sigsuspend(&waitmask);
		s.now = sup_clock();
		got_alrm = 0;
		if (got_chld) {
			got_chld = 0;
			sup_reap(&s, false);
		}
		if (got_quit) {
			code = shutdown_now(&s, &waitmask);
			break;
		}
		if (got_term) {
			code = shutdown_drain(&s, &waitmask);
			break;
		}
		if (got_hup) {
			got_hup = 0;
			reload(&s, path);
		}
	}
	log_info("supervisor stopped");
	sup_close_db();
	cfg_free(&s.cfg);
	free(s.children);
	return code;
}
