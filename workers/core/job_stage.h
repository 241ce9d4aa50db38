/* A job's progress as an explicit stage: each handler names its stages and which may follow which, and moves
 * a job through one function that checks every step against that table. */
#ifndef PGKB_JOB_STAGE_H
#define PGKB_JOB_STAGE_H

#define STAGE_BIT(s) (1u << (s))

struct job_stages {
	const char *kind;         /* "fetch", for the log */
	int count;                /* stages 0 .. count-1 */
	const char *const *names; /* per stage */
	const unsigned *next;     /* per stage: STAGE_BIT(t) set when the stage may be followed by t */
};

/* Checks the step from -> to before the handler's one stage setter makes it, and logs it at debug level. A
 * step the table does not allow is a bug in the handler, not bad input: it is logged and the process aborts
 * (the supervisor restarts it and the job's lease expires into a retry), since going on would run a job from
 * a state it cannot be in. */
void job_stage_check(const struct job_stages *m, long long job_id, int from, int to);

#endif
