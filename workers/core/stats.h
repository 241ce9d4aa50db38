/* Worker counters in a shared-memory region the supervisor maps before forking (read by the metrics process). */
#ifndef PGKB_STATS_H
#define PGKB_STATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>
#include <sys/types.h>

/* Upper bounds of the job-duration histogram buckets, in milliseconds (a last +Inf bucket follows). */
#define STATS_BUCKETS 16
extern const unsigned stats_bucket_ms[STATS_BUCKETS];
/* Worker slots: one per live worker process (pool connections). */
#define STATS_WORKERS 512

struct stats_kind_counters {
	atomic_ullong claimed, succeeded, failed, retried, dead, refused;
	atomic_ullong duration_count, duration_sum_us;
	atomic_ullong duration_buckets[STATS_BUCKETS + 1]; /* non-cumulative; the last is +Inf */
};

struct stats_worker {
	atomic_int pid; /* 0 = free */
	atomic_int worker_kind; /* enum cfg_worker_kind */
	atomic_int pool_connections;
	atomic_int jobs_running;
};

struct stats_region {
	struct stats_worker workers[STATS_WORKERS];
	int nkinds;
	struct stats_kind_counters kinds[]; /* one per job kind, by its registry index (workers/core/handlers.h) */
};

/* Maps the region (MAP_SHARED|MAP_ANONYMOUS) once per supervisor, before the first fork; children inherit it.
 * Returns 0, or -1 (errno set): the process then runs without counters. Every other function is a no-op
 * while no region is mapped (the CLI, unit tests). */
int stats_init(void);
/* The mapped region, or NULL. */
struct stats_region *stats_region(void);
/* Adds n to counter field (one of claimed … refused) of the job kind at registry index kind (-1, an unknown
 * kind, is ignored). */
#define stats_add(kind, field, n) stats_add_at((kind), offsetof(struct stats_kind_counters, field), (n))
void stats_add_at(int kind, size_t offset, unsigned long long n);
/* Records the run time of one job of the kind at registry index kind. */
void stats_observe(int kind, double seconds);
/* Worker slots: a worker takes one at start (returns its index or -1 when full or unmapped), sets its
 * gauges, and the supervisor frees the slot of a reaped pid (the worker may have died without freeing it). */
int stats_worker_attach(pid_t pid, int worker_kind);
void stats_worker_set(int slot, int pool_connections, int jobs_running);
void stats_worker_release(pid_t pid);

#endif
