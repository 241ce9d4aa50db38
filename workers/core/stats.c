/* Worker counters in a shared-memory region: atomic per-kind counters, a duration histogram, worker gauges. */
#include "workers/core/stats.h"

#include <stddef.h>
#include <sys/mman.h>

#include "workers/core/handlers.h"

const unsigned stats_bucket_ms[STATS_BUCKETS] = {5,    10,    25,    50,    100,    250,    500,    1000,
                                                 2500, 5000,  10000, 30000, 60000, 120000, 300000, 600000};

static struct stats_region *region; /* process-wide: inherited across fork */

int stats_init(void)
{
	if (region)
		return 0;
	int nkinds = job_kind_count();
	size_t size = sizeof *region + (size_t)nkinds * sizeof region->kinds[0];
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	region = p; /* anonymous mappings are zero-filled: every counter starts at 0 */
	region->nkinds = nkinds;
	return 0;
}

struct stats_region *stats_region(void)
{
	return region;
}

void stats_add_at(int kind, size_t offset, unsigned long long n)
{
	if (!region || kind < 0 || kind >= region->nkinds || n == 0)
		return;
	atomic_ullong *c = (atomic_ullong *)(void *)((char *)&region->kinds[kind] + offset);
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

void stats_observe(int kind, double seconds)
{
	if (!region || kind < 0 || kind >= region->nkinds)
		return;
	struct stats_kind_counters *c = &region->kinds[kind];
	double ms = seconds < 0 ? 0 : seconds * 1000.0;
	int b = 0;
	while (b < STATS_BUCKETS && ms > stats_bucket_ms[b])
		b++;
	atomic_fetch_add_explicit(&c->duration_buckets[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->duration_sum_us, (unsigned long long)(ms * 1000.0), memory_order_relaxed);
	atomic_fetch_add_explicit(&c->duration_count, 1, memory_order_relaxed);
}

int stats_worker_attach(pid_t pid, int worker_kind)
{
	if (!region)
		return -1;
	for (int i = 0; i < STATS_WORKERS; i++) {
		int free_pid = 0;
		struct stats_worker *w = &region->workers[i];
		if (atomic_compare_exchange_strong(&w->pid, &free_pid, (int)pid)) {
			atomic_store(&w->worker_kind, worker_kind);
			atomic_store(&w->pool_connections, 0);
			atomic_store(&w->jobs_running, 0);
			return i;
		}
	}
	return -1;
}

void stats_worker_set(int slot, int pool_connections, int jobs_running)
{
	if (!region || slot < 0 || slot >= STATS_WORKERS)
		return;
	atomic_store(&region->workers[slot].pool_connections, pool_connections);
	atomic_store(&region->workers[slot].jobs_running, jobs_running);
}

void stats_worker_release(pid_t pid)
{
	if (!region || pid <= 0)
		return;
	for (int i = 0; i < STATS_WORKERS; i++) {
		int expect = (int)pid;
		atomic_compare_exchange_strong(&region->workers[i].pid, &expect, 0);
	}
}
