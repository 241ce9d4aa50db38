/* The reembed job kind (schema/087): re-embeds a range of rows that carry another model's vectors. */
#ifndef PGKB_REEMBED_JOB_H
#define PGKB_REEMBED_JOB_H

#include "workers/core/worker.h"

/* Payload (made by pgkb.reembed): {"reembed_id", "table": "pages"|"code", "source_id" (null: all), "model",
 * "dimension", "force", "from_id", "to_id", "rows"}. Loads the range's rows still off target
 * (pgkb.reembed_candidates), embeds them with the worker's engine, and writes them with pgkb.reembed_store in the
 * fenced completion, which writes only rows still off target: a retry duplicates nothing. A job for another model
 * or dimension than this worker's fails (retried: a worker with that configuration may take it). Its start()
 * checks once whether rows carry another model's vectors: it logs how many and, with embed.reembed_on_change,
 * starts the run (pgkb.reembed_check). Runs in embed worker processes, after the embed handler's start(). */
extern const struct handler reembed_handler;

#endif
