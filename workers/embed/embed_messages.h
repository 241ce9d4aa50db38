/* The embed_messages job kind: embeds conversation messages (pgkb_memory.messages, schema/092_memory.sql). */
#ifndef PGKB_EMBED_MESSAGES_H
#define PGKB_EMBED_MESSAGES_H

#include "workers/core/worker.h"

/* Ids per job at most (the trigger makes jobs of pgkb_memory.embed_batch_size(), 250). */
#define EMBED_MESSAGES_MAX_IDS 10000
/* Bytes of a message's content that are embedded: a longer message is embedded from its beginning (cut at a
 * character boundary), which keeps one pasted document from exceeding a provider's input limit. */
#define EMBED_MESSAGES_MAX_BYTES 16384

/* Payload {"message_ids": [N, …]} (what the trigger messages_enqueue_embed writes). Loads those of the
 * messages that still have no vector (pgkb.memory_embed_load), embeds them batch after batch with the worker
 * process's engine (embed_shared_engine: the same provider, model, batching and rate limits as embed jobs), and
 * stores the vectors with the fenced completion (pgkb.memory_embed_store), skipping a message whose content
 * changed meanwhile (the change enqueued another job). Nothing left to embed: success. A bad payload fails
 * permanently; provider failures as for embed jobs. */
extern const struct handler embed_messages_handler;

#endif
