/* Ingest results to the database, one result transaction in flight per process (INGEST_WRITES_IN_FLIGHT). */
#include "workers/ingest/ingest_write.h"

#include <stdlib.h>

#include "workers/ingest/ingest_fold.h"

/* Per process: jobs sent whose result transaction has not ended, and the jobs whose results wait their turn
 * (FIFO, linked through ingest_job.next). */
static struct {
	int in_flight;
	struct ingest_job *head, *tail;
} writes_q;

static void send_result(struct ingest_job *j, struct pg_req *writes, bool fold);

static void on_result_ended(struct pg_req *req, const struct pg_outcome *out, void *arg)
{
	writes_q.in_flight--;
	if (out->ok && arg)
		ingest_fold_soon();
	/* The waiting results go now, in one loop iteration: the worker commits them in one transaction. */
	if (writes_q.in_flight >= INGEST_WRITES_IN_FLIGHT)
		return;
	struct ingest_job *j = writes_q.head;
	writes_q.head = writes_q.tail = NULL;
	while (j) {
		struct ingest_job *next = j->next;
		struct pg_req *writes = j->writes;
		j->writes = NULL;
		send_result(j, writes, j->fold);
		j = next;
	}
}

static void send_result(struct ingest_job *j, struct pg_req *writes, bool fold)
{
	static char fold_tag; /* arg: non-NULL when the result may leave a word-count delta */
	writes->cb = on_result_ended;
	writes->arg = fold ? &fold_tag : NULL;
	writes_q.in_flight++;
	job_succeed_with(ingest_end(j), writes);
}

void ingest_write_submit(struct ingest_job *j, struct pg_req *writes, bool fold)
{
	if (writes_q.in_flight < INGEST_WRITES_IN_FLIGHT && !writes_q.head) {
		send_result(j, writes, fold);
		return;
	}
	ingest_stage(j, INGEST_WAITING);
	j->writes = writes;
	j->fold = fold;
	j->next = NULL;
	if (writes_q.tail)
		writes_q.tail->next = j;
	else
		writes_q.head = j;
	writes_q.tail = j;
}

void ingest_write_cancel(struct ingest_job *j)
{
	struct ingest_job **p = &writes_q.head, *prev = NULL;
	while (*p && *p != j) {
		prev = *p;
		p = &(*p)->next;
	}
	if (!*p)
		return;
	*p = j->next;
	if (writes_q.tail == j)
		writes_q.tail = prev;
	j->next = NULL;
}
