/* The registry of job kinds. Adding a kind: its handler (file and header), one row here, and one row in a
 * migration's INSERT INTO pgkb.job_kinds (the SQL side's list of valid kinds). */
#include "workers/core/handlers.h"

#include <string.h>

#include "workers/core/worker.h"
#include "workers/crawl/crawl.h"
#include "workers/crawl/fetch.h"
#include "workers/embed/embed.h"
#include "workers/embed/reembed.h"
#include "workers/embed/embed_messages.h"
#include "workers/ingest/ingest.h"
#include "workers/noop/noop.h"

#define RUN_BY(wk) (1u << (wk))

/* A worker kind claims its kinds in this order, round robin from the first. */
const struct job_kind job_kinds[] = {
	{&crawl_handler, RUN_BY(CFG_WORKER_CRAWL)},
	{&fetch_handler, RUN_BY(CFG_WORKER_CRAWL)},
	{&ingest_handler, RUN_BY(CFG_WORKER_INGEST)},
	{&embed_handler, RUN_BY(CFG_WORKER_EMBED)},
	/* after embed: its start() uses the engine the embed handler's start() made */
	{&reembed_handler, RUN_BY(CFG_WORKER_EMBED)},
	/* after embed: its start makes the engine this kind shares */
	{&embed_messages_handler, RUN_BY(CFG_WORKER_EMBED)},
	/* ingest workers also answer noop health checks, so a default deployment runs them */
	{&noop_handler, RUN_BY(CFG_WORKER_INGEST) | RUN_BY(CFG_WORKER_NOOP)},
};

#define NKINDS ((int)(sizeof job_kinds / sizeof *job_kinds))

int job_kind_count(void)
{
	return NKINDS;
}

const char *job_kind_name(int idx)
{
	return idx >= 0 && idx < NKINDS ? job_kinds[idx].handler->kind : "unknown";
}

int job_kind_index(const char *name)
{
	for (int i = 0; name && i < NKINDS; i++)
		if (strcmp(name, job_kinds[i].handler->kind) == 0)
			return i;
	return -1;
}

bool job_kind_run_by(int idx, enum cfg_worker_kind wk)
{
	return idx >= 0 && idx < NKINDS && (job_kinds[idx].run_by & RUN_BY(wk));
}
