/* The one check of every job stage change (see job_stage.h). */
#include "workers/core/job_stage.h"

#include <stdlib.h>

#include "lib/util/log.h"

void job_stage_check(const struct job_stages *m, long long job_id, int from, int to)
{
	if (from < 0 || from >= m->count || to < 0 || to >= m->count || !(m->next[from] & STAGE_BIT(to))) {
		log_error("%s job %lld: illegal stage change %s -> %s", m->kind, job_id,
		          from >= 0 && from < m->count ? m->names[from] : "?", to >= 0 && to < m->count ? m->names[to] : "?");
		abort();
	}
	log_debug("%s job %lld: %s -> %s", m->kind, job_id, m->names[from], m->names[to]);
}
