/* The fetch job kind: one URL of a crawl into pgkb.documents. */
#ifndef PGKB_FETCH_H
#define PGKB_FETCH_H

#include "workers/core/worker.h"

extern const struct handler fetch_handler;

#endif
