/* Work that may take long (walking a large directory tree, reading a file) done on a thread of its own, its end
 * handed back to the event loop, so the loop keeps renewing leases, serving other jobs and answering SIGTERM. */
#ifndef PGKB_OFFLOAD_H
#define PGKB_OFFLOAD_H

#include <ev.h>

struct offload;

/* One thread serving loop, tasks in the order submitted. NULL when the thread cannot be started. */
struct offload *offload_new(struct ev_loop *loop);

/* Runs work(arg) on the thread, then done(arg) on the loop. work must not touch the loop or anything the loop
 * owns (log, pools, jobs): it fills arg, and done acts on it. */
void offload_submit(struct offload *o, void (*work)(void *arg), void (*done)(void *arg), void *arg);

/* Tasks submitted and not yet done (on the thread or waiting to hand back). */
int offload_pending(const struct offload *o);

/* Stops the thread once its current task ends (tasks not started are not run), then calls done for every task
 * left, started or not, so their owners can free them; then frees o. Call after the loop has ended. */
void offload_free(struct offload *o);

#endif
