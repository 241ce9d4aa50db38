/* Supervisor internals: the set of worker children and the hand-back of a dead child's leases. */
#ifndef PGKB_SUP_H
#define PGKB_SUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "lib/cfg/cfg.h"

struct child {
	enum cfg_worker_kind kind;
	int slot;
	pid_t pid;        /* 0 while waiting to be (re)started */
	char owner[160];  /* lease owner id of the current process */
	double started;   /* monotonic seconds */
	double restart_at; /* when pid == 0: when to start it */
	double delay;     /* current restart spacing */
	bool retiring;    /* draining after a reload or shutdown: not respawned */
	bool fatal;       /* exited with code 2: not respawned */
	bool metrics;     /* the metrics server (supervisor.metrics_listen), not a worker: holds no leases */
};

struct sup {
	struct cfg cfg;
	struct child *children;
	int nchildren;
	int parent_pipe[2];
	char host[64];
	double now;
};

double sup_clock(void);
/* Adds the children a configuration asks for, to be started now. */
void sup_add_children(struct sup *s);
/* Starts every child whose restart time has come; returns seconds until the next pending start (or -1). */
double sup_start_due(struct sup *s);
/* Reaps exited children: hands back their leases, schedules restarts with spacing. Returns how many reaped. */
int sup_reap(struct sup *s, bool shutting_down);
/* Sends sig to every live child (retiring ones too). */
void sup_signal_all(struct sup *s, int sig);
int sup_alive(const struct sup *s);
/* Marks every current child retiring and sends it SIGTERM (reload, shutdown). */
void sup_retire_all(struct sup *s);
/* Hands the leases of owner back to the queue (blocking, with the connect timeout). */
void sup_handback(struct sup *s, const char *owner, const char *why);
void sup_close_db(void);
/* Body of the metrics child: serves GET /metrics on cfg.metrics_listen until SIGTERM. Returns the exit code
 * (2 when the address cannot be used: not respawned). */
int sup_metrics_main(struct sup *s);
/* /readyz: true when the database answers, has this binary's latest migration and the configured workers run;
 * else false with a one-line reason in why. */
struct pg_conninfo;
bool sup_ready(const struct sup *s, const struct pg_conninfo *ci, char *why, size_t cap);
/* At start: refuses (false, the reason logged) a database URL that goes through a pooler in transaction or
 * statement mode, where LISTEN, prepared statements and session settings do not hold. True when the session
 * is the client's own, or when the database cannot be reached now (the workers then wait for it). */
bool sup_check_pooler(const struct cfg *cfg);
/* Splits supervisor.metrics_listen, "host:port" or "[v6]:port", into host and port (heap strings); 0 or -1. */
int sup_split_listen(const char *listen_addr, char **host, char **port);
/* --health live|ready: asks the running supervisor's /healthz or /readyz; the exit code (0 healthy). */
int sup_probe(const struct cfg *cfg, const char *what);
/* Name of a child for logs: its worker kind, or "metrics". */
const char *sup_child_name(const struct child *c);

#endif
