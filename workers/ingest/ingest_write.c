/* Ingest results to the database, one result transaction in flight per process (INGEST_WRITES_IN_FLIGHT). */
#include "workers/ingest/ingest_write.h"

#include <stdlib.h>

#include "workers/ingest/ingest_fold.h"
#include "lib/util/mem.h"

struct waiting {
	struct job_run *run;
	struct pg_req *writes;
	bool fold;
	struct waiting *next;
};

/* Per process: jobs sent whose result transaction has not ended, and the results waiting their turn (FIFO). */
static struct {
	int in_flight;
	struct waiting *head, *tail;
} writes_q;

static void send_result(struct job_run *r, struct pg_req *writes, bool fold);

static void on_result_ended(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	writes_q.in_flight--;
	if (out->ok && arg)
		ingest_fold_soon();
	/* The waiting results go now, in one loop iteration: the worker commits them in one transaction. */
	if (writes_q.in_flight >= INGEST_WRITES_IN_FLIGHT)
		return;
	struct waiting *w = writes_q.head;
	writes_q.head = writes_q.tail = NULL;
	while (w) {
		struct waiting *next = w->next;
		if (w->run->abandoned) {
			pg_req_free(w->writes);
			job_release(w->run);
		} else {
			send_result(w->run, w->writes, w->fold);
		}
		free(w);
		w = next;
	}
}

static void send_result(struct job_run *r, struct pg_req *writes, bool fold)
{
	static char fold_tag; /* arg: non-NULL when the result may leave a word-count delta */
	writes->cb = on_result_ended;
	writes->arg = fold ? &fold_tag : NULL;
	writes_q.in_flight++;
	job_succeed_with(r, writes);
}

void ingest_write_submit(struct job_run *r, struct pg_req *writes, bool fold)
{
	if (writes_q.in_flight < INGEST_WRITES_IN_FLIGHT && !writes_q.head) {
		send_result(r, writes, fold);
		return;
	}
	struct waiting *w = xcalloc(1, sizeof *w);
	*w = (struct waiting){r, writes, fold, NULL};
	if (writes_q.tail)
		writes_q.tail->next = w;
	else
		writes_q.head = w;
	writes_q.tail = w;
}
