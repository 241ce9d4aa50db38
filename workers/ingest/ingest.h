/* The ingest job kind. */
#ifndef PGKB_INGEST_H
#define PGKB_INGEST_H

#include "workers/core/worker.h"

extern const struct handler ingest_handler;

#endif
