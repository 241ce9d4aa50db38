/* Which job kinds each worker kind runs. */
#include "workers/ingest/ingest.h"
#include "workers/embed/embed.h"
#include "workers/crawl/crawl.h"
#include "workers/crawl/fetch.h"
#include "workers/noop/noop.h"
#include "workers/core/worker.h"

/* ingest workers also answer noop health checks, so a default deployment runs them. */
static const struct handler *const ingest_handlers[] = {&ingest_handler, &noop_handler, NULL};
static const struct handler *const crawl_handlers[] = {&crawl_handler, &fetch_handler, NULL};
static const struct handler *const embed_handlers[] = {&embed_handler, NULL};
static const struct handler *const noop_handlers[] = {&noop_handler, NULL};

const struct handler *const *handlers_for(enum cfg_worker_kind kind)
{
	switch (kind) {
	case CFG_WORKER_CRAWL:
		return crawl_handlers;
	case CFG_WORKER_INGEST:
		return ingest_handlers;
	case CFG_WORKER_EMBED:
		return embed_handlers;
	case CFG_WORKER_NOOP:
	default:
		return noop_handlers;
	}
}
