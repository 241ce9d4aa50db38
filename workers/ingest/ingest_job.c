/* Ingest job state and its one stage setter (see ingest_job.h). */
#include "workers/ingest/ingest_job.h"

#include <stdlib.h>

#include "lib/util/mem.h"
#include "workers/core/job_stage.h"

static const char *const ingest_stage_names[INGEST_STAGES] = {"parsed",  "reading", "enqueuing", "extracting",
                                                              "converting", "waiting", "done", "abandoned"};
static const unsigned ingest_next[INGEST_STAGES] = {
	[INGEST_PARSED] = STAGE_BIT(INGEST_READING) | STAGE_BIT(INGEST_CONVERTING) | STAGE_BIT(INGEST_DONE),
	[INGEST_READING] = STAGE_BIT(INGEST_ENQUEUING) | STAGE_BIT(INGEST_EXTRACTING) | STAGE_BIT(INGEST_CONVERTING) |
	                   STAGE_BIT(INGEST_DONE) | STAGE_BIT(INGEST_ABANDONED),
	[INGEST_EXTRACTING] = STAGE_BIT(INGEST_CONVERTING) | STAGE_BIT(INGEST_DONE) | STAGE_BIT(INGEST_ABANDONED),
	[INGEST_ENQUEUING] = STAGE_BIT(INGEST_WAITING) | STAGE_BIT(INGEST_DONE) | STAGE_BIT(INGEST_ABANDONED),
	[INGEST_CONVERTING] = STAGE_BIT(INGEST_EXTRACTING) | STAGE_BIT(INGEST_WAITING) | STAGE_BIT(INGEST_DONE),
	[INGEST_WAITING] = STAGE_BIT(INGEST_DONE) | STAGE_BIT(INGEST_ABANDONED),
};
static const struct job_stages ingest_stages = {"ingest", INGEST_STAGES, ingest_stage_names, ingest_next};

struct ingest_job *ingest_job_new(struct job_run *run)
{
	struct ingest_job *j = xcalloc(1, sizeof *j);
	j->run = run;
	j->job_id = run->job.id;
	j->stage = INGEST_PARSED;
	run->state = j;
	return j;
}

void ingest_stage(struct ingest_job *j, enum ingest_stage to)
{
	job_stage_check(&ingest_stages, j->job_id, (int)j->stage, (int)to);
	j->stage = to;
}

static void ingest_job_free(struct ingest_job *j)
{
	pg_req_free(j->writes);
	free(j);
}

struct job_run *ingest_end(struct ingest_job *j)
{
	struct job_run *r = j->run;
	ingest_stage(j, INGEST_DONE);
	r->state = NULL;
	ingest_job_free(j);
	return r;
}

void ingest_job_drop(struct ingest_job *j)
{
	if (j->stage != INGEST_ABANDONED)
		ingest_stage(j, INGEST_ABANDONED);
	ingest_job_free(j);
}
