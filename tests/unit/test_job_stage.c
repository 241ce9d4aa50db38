/* Unit tests: the job stage check (workers/core/job_stage.c) lets a handler's table through and stops the
 * process on any other step. */
#include "workers/core/job_stage.h"
#include "testlib.h"

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/util/log.h"

enum { A, B, C, N };
static const char *const names[N] = {"a", "b", "c"};
static const unsigned next[N] = {[A] = STAGE_BIT(B), [B] = STAGE_BIT(C)};
static const struct job_stages stages = {"test", N, names, next};

/* Runs one check in a child; true when the child aborted. */
static bool aborts(int from, int to)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		job_stage_check(&stages, 7, from, to);
		_exit(0);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

TEST(legal_steps_pass)
{
	ASSERT_TRUE(!aborts(A, B));
	ASSERT_TRUE(!aborts(B, C));
	job_stage_check(&stages, 7, A, B); /* and in this process, nothing happens */
}

TEST(illegal_steps_abort)
{
	ASSERT_TRUE(aborts(A, C)); /* not in the table */
	ASSERT_TRUE(aborts(C, A)); /* from a final stage */
	ASSERT_TRUE(aborts(B, B)); /* staying is not a step */
	ASSERT_TRUE(aborts(A, N)); /* out of range */
	ASSERT_TRUE(aborts(-1, A));
}

int main(int argc, char **argv)
{
	log_setup("test", LOG_ERROR);
	return test_main(argc, argv);
}
