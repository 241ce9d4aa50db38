/* The registry of job kinds: one row per kind, naming its handler (whose .kind is the kind's name as
 * pgkb.jobs.kind stores it) and the worker kinds that run it. What C knows per kind derives from it: the
 * handlers a worker runs, the per-kind counters (indexed by the row), the kind labels of the metrics. */
#ifndef PGKB_HANDLERS_H
#define PGKB_HANDLERS_H

#include <stdbool.h>

#include "lib/cfg/cfg.h"

struct handler;

struct job_kind {
	const struct handler *handler;
	unsigned run_by; /* bit 1u << k for each enum cfg_worker_kind k that runs it */
};

/* The rows, in registry order, and how many there are. */
extern const struct job_kind job_kinds[];
int job_kind_count(void);
/* A row's kind name ("unknown" out of range), the row of a name (-1 when unknown). */
const char *job_kind_name(int idx);
int job_kind_index(const char *name);
/* True when workers of kind wk run row idx's jobs. */
bool job_kind_run_by(int idx, enum cfg_worker_kind wk);

#endif
