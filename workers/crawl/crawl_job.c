/* Stages, end and hand-back shared by the crawl and fetch jobs (see crawl_job.h). */
#include "workers/crawl/crawl_job.h"

void crawl_job_init(struct crawl_job *j, const struct crawl_job_kind *kind, struct job_run *run)
{
	j->kind = kind;
	j->run = run;
	j->job_id = run->job.id;
	j->stage = 0;
}

void crawl_job_stage(struct crawl_job *j, int to)
{
	job_stage_check(&j->kind->stages, j->job_id, j->stage, to);
	j->stage = to;
}

struct job_run *crawl_job_end(struct crawl_job *j)
{
	struct job_run *r = j->run;
	crawl_job_stage(j, j->kind->done);
	r->state = NULL;
	j->run = NULL;
	j->kind->free(j);
	return r;
}

void crawl_job_abandon(struct job_run *r)
{
	struct crawl_job *j = r->state;
	r->state = NULL;
	j->run = NULL; /* the worker frees r after this call */
	enum crawl_wait wait = j->kind->waits[j->stage];
	crawl_job_stage(j, j->kind->abandoned);
	if (wait == CRAWL_WAIT_DB)
		return; /* crawl_job_gone frees it in the request's callback */
	if (wait == CRAWL_WAIT_HTTP)
		polite_cancel(j->preq);
	else if (wait == CRAWL_WAIT_ROBOTS)
		robots_wait_cancel(j->rwait);
	j->kind->free(j);
}

bool crawl_job_gone(struct crawl_job *j)
{
	if (j->stage != j->kind->abandoned)
		return false;
	j->kind->free(j);
	return true;
}
