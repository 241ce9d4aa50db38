/* A thread for long work, its results handed back to the loop through ev_async (see offload.h). */
#include "lib/util/offload.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "lib/util/mem.h"

struct task {
	void (*work)(void *);
	void (*done)(void *);
	void *arg;
	struct task *next;
};

struct queue {
	struct task *head, *tail;
};

struct offload {
	struct ev_loop *loop;
	ev_async wake;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct queue todo, finished; /* both under mu */
	bool stop;
	int pending; /* loop side only */
};

static void push(struct queue *q, struct task *t)
{
	t->next = NULL;
	if (q->tail)
		q->tail->next = t;
	else
		q->head = t;
	q->tail = t;
}

static struct task *take_all(struct queue *q)
{
	struct task *t = q->head;
	q->head = q->tail = NULL;
	return t;
}

static void *serve(void *p)
{
	struct offload *o = p;
	pthread_mutex_lock(&o->mu);
	for (;;) {
		while (!o->todo.head && !o->stop)
			pthread_cond_wait(&o->cv, &o->mu);
		if (o->stop)
			break;
		struct task *t = o->todo.head;
		o->todo.head = t->next;
		if (!o->todo.head)
			o->todo.tail = NULL;
		pthread_mutex_unlock(&o->mu);
		t->work(t->arg);
		pthread_mutex_lock(&o->mu);
		push(&o->finished, t);
		ev_async_send(o->loop, &o->wake);
	}
	pthread_mutex_unlock(&o->mu);
	return NULL;
}

static void run_done(struct offload *o, struct task *t)
{
	while (t) {
		struct task *next = t->next;
		o->pending--;
		t->done(t->arg);
		free(t);
		t = next;
	}
}

static void on_wake(struct ev_loop *loop, ev_async *w, int revents)
{
	struct offload *o = w->data;
	pthread_mutex_lock(&o->mu);
	struct task *t = take_all(&o->finished);
	pthread_mutex_unlock(&o->mu);
	run_done(o, t);
}

struct offload *offload_new(struct ev_loop *loop)
{
	struct offload *o = xcalloc(1, sizeof *o);
	o->loop = loop;
	pthread_mutex_init(&o->mu, NULL);
	pthread_cond_init(&o->cv, NULL);
	ev_async_init(&o->wake, on_wake);
	o->wake.data = o;
	ev_async_start(loop, &o->wake);
	ev_unref(loop); /* an idle helper thread does not keep the loop running */
	if (pthread_create(&o->thread, NULL, serve, o) != 0) {
		ev_ref(loop);
		ev_async_stop(loop, &o->wake);
		pthread_cond_destroy(&o->cv);
		pthread_mutex_destroy(&o->mu);
		free(o);
		return NULL;
	}
	return o;
}

void offload_submit(struct offload *o, void (*work)(void *), void (*done)(void *), void *arg)
{
	struct task *t = xcalloc(1, sizeof *t);
	*t = (struct task){work, done, arg, NULL};
	o->pending++;
	pthread_mutex_lock(&o->mu);
	push(&o->todo, t);
	pthread_cond_signal(&o->cv);
	pthread_mutex_unlock(&o->mu);
}

int offload_pending(const struct offload *o)
{
	return o->pending;
}

void offload_free(struct offload *o)
{
	if (!o)
		return;
	pthread_mutex_lock(&o->mu);
	o->stop = true;
	pthread_cond_signal(&o->cv);
	pthread_mutex_unlock(&o->mu);
	pthread_join(o->thread, NULL);
	ev_ref(o->loop);
	ev_async_stop(o->loop, &o->wake);
	run_done(o, take_all(&o->finished));
	run_done(o, take_all(&o->todo));
	pthread_cond_destroy(&o->cv);
	pthread_mutex_destroy(&o->mu);
	free(o);
}
