/* Unit tests: work on the offload thread, its end handed back to the loop in order; tasks left at free. */
#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

#include "lib/util/offload.h"
#include "testlib.h"

struct item {
	int n;
	bool worked, done;
	pthread_t worker;
};

static int done_order[8], ndone;
static struct ev_loop *loop;

static void work(void *arg)
{
	struct item *it = arg;
	it->worker = pthread_self();
	it->worked = true;
	usleep(2000);
}

static void done(void *arg)
{
	struct item *it = arg;
	it->done = true;
	done_order[ndone++] = it->n;
	if (ndone == 4)
		ev_break(loop, EVBREAK_ALL);
}

static void on_timeout(struct ev_loop *l, ev_timer *t, int revents)
{
	ev_break(l, EVBREAK_ALL);
}

TEST(work_runs_off_the_loop_and_ends_on_it_in_order)
{
	loop = ev_loop_new(EVFLAG_AUTO);
	struct offload *o = offload_new(loop);
	ASSERT_TRUE(o != NULL);
	struct item items[4];
	for (int i = 0; i < 4; i++) {
		items[i] = (struct item){.n = i};
		offload_submit(o, work, done, &items[i]);
	}
	ASSERT_INT_EQ(offload_pending(o), 4);
	ev_timer guard;
	ev_timer_init(&guard, on_timeout, 5., 0.);
	ev_timer_start(loop, &guard);
	ev_run(loop, 0);
	ev_timer_stop(loop, &guard);
	ASSERT_INT_EQ(ndone, 4);
	for (int i = 0; i < 4; i++) {
		ASSERT_INT_EQ(done_order[i], i);
		ASSERT_TRUE(items[i].worked && !pthread_equal(items[i].worker, pthread_self()));
	}
	ASSERT_INT_EQ(offload_pending(o), 0);
	offload_free(o);
	ev_loop_destroy(loop);
}

static void slow_work(void *arg)
{
	((struct item *)arg)->worked = true;
	usleep(100000);
}

static void count_done(void *arg)
{
	((struct item *)arg)->done = true;
}

TEST(free_hands_back_every_task_left)
{
	loop = ev_loop_new(EVFLAG_AUTO);
	struct offload *o = offload_new(loop);
	struct item a = {.n = 0}, b = {.n = 1};
	offload_submit(o, slow_work, count_done, &a);
	usleep(20000); /* a is running */
	offload_submit(o, slow_work, count_done, &b);
	offload_free(o); /* waits for a, does not start b, calls done for both */
	ASSERT_TRUE(a.worked && a.done);
	ASSERT_TRUE(!b.worked && b.done);
	ev_loop_destroy(loop);
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
