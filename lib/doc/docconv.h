/* Contained document conversion: doc_extract runs in a forked child under RLIMIT_CPU, RLIMIT_AS and a
 * wall-clock timeout, and streams its result back over a pipe, so a crash, a spin or an allocation storm in
 * poppler or libxml2 costs one document, never the worker and its other jobs. The parent side is libev
 * watchers (an ev_io on the pipe, an ev_timer for the deadline and the reap) and never blocks; it works on
 * any loop (ev_child would need the default loop, and the worker runs its own). */
#ifndef PGKB_DOCCONV_H
#define PGKB_DOCCONV_H

#include <ev.h>
#include <stddef.h>

#include "lib/doc/doc.h"

struct docconv_result {
	enum doc_status status;
	char *reason;        /* heap; NULL when DOC_OK */
	struct doc_text doc; /* filled when DOC_OK */
	double seconds;      /* wall time from fork to reap */
};

/* Called once per conversion, from the loop. The callback owns res's contents (docconv_result_free). */
typedef void (*docconv_cb)(struct docconv_result *res, void *arg);

struct docconv;

/* Forks the converter for data[0..len), which must stay valid and unchanged until the callback (the child
 * reads its copy-on-write image of it). lim may be NULL (defaults). Returns the handle, or NULL with errno set
 * when the pipe or the fork failed (no callback then). The handle is freed after the callback returns. */
struct docconv *docconv_start(struct ev_loop *loop, const char *data, size_t len, const struct doc_limits *lim,
                              docconv_cb cb, void *arg);
/* Kills and reaps the child and frees the handle without calling back (a job that was cancelled). */
void docconv_cancel(struct docconv *c);

/* The synchronous wrapper (tests, the CLI): runs one conversion on a private loop. Same results as
 * doc_extract, plus DOC_FAILED for a converter that crashed or ran out of time or memory. */
enum doc_status docconv_run(const char *data, size_t len, const struct doc_limits *lim, struct doc_text *out,
                            char **err);

void docconv_result_free(struct docconv_result *res);

/* What the child runs: doc_extract, or in tests a stand-in that crashes, spins or allocates, to show the
 * containment holds. */
typedef enum doc_status (*docconv_fn)(const char *data, size_t len, const struct doc_limits *lim,
                                      struct doc_text *out, char **err);
struct docconv *docconv_start_fn(struct ev_loop *loop, docconv_fn fn, const char *data, size_t len,
                                 const struct doc_limits *lim, docconv_cb cb, void *arg);
enum doc_status docconv_run_fn(docconv_fn fn, const char *data, size_t len, const struct doc_limits *lim,
                               struct doc_text *out, char **err);

#endif
