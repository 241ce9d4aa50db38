/* Unit tests: the contained converter. Stand-ins for doc_extract crash, spin, allocate without bound, hang
 * and flood the pipe, and each costs one conversion with a clear reason while the parent and the other
 * conversions on its loop go on; then what the fork costs per document and per page. */
#include "testlib.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/doc/doc.h"
#include "lib/doc/docconv.h"
#include "lib/util/buf.h"
#include "lib/util/mem.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static char *fixture(const char *name, size_t *len)
{
	const char *env = getenv("PGKB_TEST_DATA"), *slash = strrchr(__FILE__, '/');
	int dirlen = slash ? (int)(slash - __FILE__) : 1;
	char *path = env ? xasprintf("%s/docs/%s", env, name)
	                 : xasprintf("%.*s/../data/docs/%s", dirlen, slash ? __FILE__ : ".", name);
	FILE *f = fopen(path, "rb");
	free(path);
	if (!f)
		return NULL;
	struct buf b = BUF_INIT;
	char tmp[65536];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	*len = b.len;
	return buf_steal(&b);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- stand-ins for doc_extract, run in the child ------------------------------------------ */

static enum doc_status crash(const char *d, size_t n, const struct doc_limits *l, struct doc_text *o, char **e)
{
	raise(SIGSEGV);
	return DOC_OK;
}

static volatile unsigned long sink;
static enum doc_status spin(const char *d, size_t n, const struct doc_limits *l, struct doc_text *o, char **e)
{
	for (;;)
		sink++;
	return DOC_OK;
}

static enum doc_status hang(const char *d, size_t n, const struct doc_limits *l, struct doc_text *o, char **e)
{
	for (;;)
		pause();
	return DOC_OK;
}

#ifndef UNDER_ASAN
static enum doc_status hog(const char *d, size_t n, const struct doc_limits *l, struct doc_text *o, char **e)
{
	for (;;) { /* xmalloc aborts when RLIMIT_AS refuses */
		char *p = xmalloc(16 << 20);
		memset(p, 1, 16 << 20);
	}
	return DOC_OK;
}
#endif

/* A child that sends far more than its bound allows (a converter gone wrong). */
static enum doc_status flood(const char *d, size_t n, const struct doc_limits *l, struct doc_text *o, char **e)
{
	memset(o, 0, sizeof(*o));
	o->markdown_len = 8 << 20;
	o->markdown = xmalloc(o->markdown_len + 1);
	memset(o->markdown, 'x', o->markdown_len);
	o->markdown[o->markdown_len] = '\0';
	o->title = xstrdup("");
	o->author = xstrdup("");
	o->page_start = xcalloc(1, sizeof(size_t));
	o->npages = 1;
	return DOC_OK;
}

static void expect_failure(docconv_fn fn, const struct doc_limits *lim, const char *reason, double max_secs)
{
	struct doc_text d;
	char *err = NULL;
	double t0 = now_s();
	ASSERT_INT_EQ(docconv_run_fn(fn, "x", 1, lim, &d, &err), DOC_FAILED);
	double secs = now_s() - t0;
	ASSERT_STR_CONTAINS(err, reason);
	ASSERT_TRUE(secs < max_secs);
	ASSERT_TRUE(d.markdown == NULL);
	free(err);
	/* the child is reaped: no zombie is left behind */
	ASSERT_INT_EQ(waitpid(-1, NULL, WNOHANG), -1);
}

TEST(a_crash_is_a_status)
{
	expect_failure(crash, NULL, "document converter crashed: signal 11", 5.0);
}

TEST(a_spin_is_stopped_by_the_cpu_limit)
{
	struct doc_limits lim = {.cpu_seconds = 1};
	expect_failure(spin, &lim, "exceeded its CPU limit of 1 s", 30.0); /* wall: a busy machine */
}

TEST(a_hang_is_stopped_by_the_wall_clock)
{
	struct doc_limits lim = {.timeout_ms = 300};
	expect_failure(hang, &lim, "timed out after 300 ms", 5.0);
}

TEST(unbounded_allocation_is_stopped_by_the_memory_limit)
{
#ifdef UNDER_ASAN
	printf("  skipped: RLIMIT_AS is not set under AddressSanitizer\n");
#else
	struct doc_limits lim = {.memory_bytes = 256u << 20};
	expect_failure(hog, &lim, "its memory limit is 256 MiB", 20.0);
#endif
}

TEST(a_flood_on_the_pipe_is_cut_off)
{
	struct doc_limits lim = {.max_output_bytes = 1 << 20};
	expect_failure(flood, &lim, "sent more than", 10.0);
}

/* A real PDF that makes poppler spin: form XObjects ten deep, each drawing the next ten times. */
TEST(a_pdf_bomb_is_stopped)
{
	size_t len;
	char *data = fixture("hostile/form_bomb.pdf", &len);
	ASSERT_TRUE(data != NULL);
	struct doc_limits lim = {.cpu_seconds = 1, .timeout_ms = 30000};
	struct doc_text d;
	char *err = NULL;
	double t0 = now_s();
	ASSERT_INT_EQ(docconv_run(data, len, &lim, &d, &err), DOC_FAILED);
	ASSERT_TRUE(now_s() - t0 < 30.0);
	/* the CPU limit, or the memory limit if poppler's allocations reach it first */
	ASSERT_TRUE(err && (strstr(err, "CPU limit of 1 s") || strstr(err, "memory limit")));
	printf("  form_bomb.pdf: %s after %.1f s\n", err ? err : "?", now_s() - t0);
	free(err);
	free(data);
}

/* ---- the libev API: several conversions on one loop ---------------------------------------- */

struct slot {
	int calls;
	struct docconv_result res;
};

static void on_done(struct docconv_result *res, void *arg)
{
	struct slot *s = arg;
	s->calls++;
	s->res = *res;
}

TEST(one_crash_leaves_the_other_conversions_alone)
{
	size_t dlen, plen;
	char *docx = fixture("sample.docx", &dlen), *pdf = fixture("manual.pdf", &plen);
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct slot a = {0}, b = {0}, c = {0}, h = {0};
	struct doc_limits quick = {.timeout_ms = 200};
	ASSERT_TRUE(docconv_start(loop, docx, dlen, NULL, on_done, &a) != NULL);
	ASSERT_TRUE(docconv_start_fn(loop, crash, "x", 1, NULL, on_done, &b) != NULL);
	ASSERT_TRUE(docconv_start(loop, pdf, plen, NULL, on_done, &c) != NULL);
	ASSERT_TRUE(docconv_start_fn(loop, hang, "x", 1, &quick, on_done, &h) != NULL);
	struct docconv *cancelled = docconv_start_fn(loop, hang, "x", 1, NULL, on_done, &h);
	docconv_cancel(cancelled); /* no callback for it */
	double t0 = now_s();
	ev_run(loop, 0); /* returns when every watcher is done */
	ASSERT_TRUE(now_s() - t0 < 10.0);
	ASSERT_INT_EQ(a.calls, 1);
	ASSERT_INT_EQ(b.calls, 1);
	ASSERT_INT_EQ(c.calls, 1);
	ASSERT_INT_EQ(h.calls, 1);
	ASSERT_INT_EQ(a.res.status, DOC_OK);
	ASSERT_STR_CONTAINS(a.res.doc.markdown, "# Installing widgets");
	ASSERT_INT_EQ(b.res.status, DOC_FAILED);
	ASSERT_INT_EQ(c.res.status, DOC_OK);
	ASSERT_INT_EQ(c.res.doc.npages, 5);
	ASSERT_INT_EQ(h.res.status, DOC_FAILED);
	ASSERT_STR_CONTAINS(h.res.reason, "timed out");
	docconv_result_free(&a.res);
	docconv_result_free(&b.res);
	docconv_result_free(&c.res);
	docconv_result_free(&h.res);
	ev_loop_destroy(loop);
	ASSERT_INT_EQ(waitpid(-1, NULL, WNOHANG), -1);
	free(docx);
	free(pdf);
}

/* ---- what containment costs ---------------------------------------------------------------- */

/* CPU seconds of this process and its reaped children: the cost of a fork without the wait for a core on
 * a busy machine. */
static double cpu_s(void)
{
	struct rusage a, b;
	getrusage(RUSAGE_SELF, &a);
	getrusage(RUSAGE_CHILDREN, &b);
	return (double)(a.ru_utime.tv_sec + a.ru_stime.tv_sec + b.ru_utime.tv_sec + b.ru_stime.tv_sec) +
	       (double)(a.ru_utime.tv_usec + a.ru_stime.tv_usec + b.ru_utime.tv_usec + b.ru_stime.tv_usec) / 1e6;
}

static double per_call(const char *data, size_t len, bool contained, int rounds, double *cpu)
{
	double t0 = now_s(), c0 = cpu_s();
	for (int i = 0; i < rounds; i++) {
		struct doc_text d;
		char *err = NULL;
		enum doc_status st = contained ? docconv_run(data, len, NULL, &d, &err) : doc_extract(data, len, NULL, &d, &err);
		ASSERT_INT_EQ(st, DOC_OK);
		if (st == DOC_OK)
			doc_text_free(&d);
		free(err);
	}
	*cpu = (cpu_s() - c0) / rounds;
	return (now_s() - t0) / rounds;
}

TEST(fork_cost_per_document_and_page)
{
	const char *names[] = {"sample.docx", "manual.pdf"};
	for (size_t i = 0; i < 2; i++) {
		size_t len;
		char *data = fixture(names[i], &len);
		struct doc_text d;
		char *err = NULL;
		doc_extract(data, len, NULL, &d, &err);
		size_t pages = d.npages;
		doc_text_free(&d);
		double cin, cout;
		per_call(data, len, true, 2, &cin); /* warm up: page cache, lazy symbol binding */
		double in = per_call(data, len, false, 10, &cin), out = per_call(data, len, true, 10, &cout);
		printf("  %s (%zu pages): wall in process %.2f ms, contained %.2f ms: fork cost %.2f ms per document, "
		       "%.2f ms per page; CPU %.2f ms vs %.2f ms: %.2f ms per document\n",
		       names[i], pages, in * 1e3, out * 1e3, (out - in) * 1e3, (out - in) * 1e3 / (double)pages,
		       cin * 1e3, cout * 1e3, (cout - cin) * 1e3);
		/* CPU, not wall time: on a busy machine the wall clock measures the wait for a core. A generous
		 * bound (10 to 25 ms here, on a machine where a bare fork costs 2 ms) */
		ASSERT_TRUE(cout - cin < 0.25);
		free(data);
	}
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
