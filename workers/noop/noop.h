/* The built-in noop job kind. */
#ifndef PGKB_NOOP_H
#define PGKB_NOOP_H

#include "workers/core/worker.h"

extern const struct handler noop_handler;

#endif
