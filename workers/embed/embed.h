/* The embed job kind: embeds a document's new chunks and code examples, then marks the document ready. */
#ifndef PGKB_EMBED_JOB_H
#define PGKB_EMBED_JOB_H

#include "workers/core/worker.h"

/* Payload {"document_id": N}. Embeds the rows of the document's url (archon_crawled_pages, and
 * archon_code_examples as content + summary) whose embedding_dimension IS NULL with the configured provider and
 * writes the vectors, model and dimension in the job's fenced completion (pgkb.embed_store), which also sets the
 * document 'ready' once none of its rows lacks an embedding. A document that no longer exists succeeds with
 * nothing to do. Failures: quota, other 4xx and a wrong dimension fail the job permanently; 429, 5xx and
 * transport errors are retried inside the job (EMBED_ATTEMPTS), then fail it for the queue to retry. */
extern const struct handler embed_handler;

/* The worker process's embedding engine (made by embed_handler's start, which runs before the start of any
 * later kind of the same worker): embed_messages jobs share it, with its batching and rate limits. */
struct embed_engine *embed_shared_engine(void);

#endif
