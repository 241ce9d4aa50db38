/* Worker counters in a shared-memory region the supervisor maps before forking (read by the metrics process). */
#ifndef PGKB_STATS_H
#define PGKB_STATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>
#include <sys/types.h>

/* Job kinds counted, in this order (index = enum stats_kind). */
enum stats_kind { STATS_NOOP, STATS_CRAWL, STATS_FETCH, STATS_INGEST, STATS_EMBED, STATS_KINDS };
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
	struct stats_kind_counters kinds[STATS_KINDS];
	struct stats_worker workers[STATS_WORKERS];
};

/* Maps the region (MAP_SHARED|MAP_ANONYMOUS) once per supervisor, before the first fork; children inherit it.
 * Returns 0, or -1 (errno set): the process then runs without counters. Every other function is a no-op
 * while no region is mapped (the CLI, unit tests). */
int stats_init(void);
/* The mapped region, or NULL. */
struct stats_region *stats_region(void);
/* Index of a job kind name ("noop", "crawl", …) or -1. */
int stats_kind_index(const char *kind);
const char *stats_kind_name(int idx);
/* Adds n to counter field (one of claimed … refused) of job kind kind (a name; unknown kinds are ignored). */
#define stats_add(kind, field, n) stats_add_at(stats_kind_index(kind), offsetof(struct stats_kind_counters, field), (n))
void stats_add_at(int kind, size_t offset, unsigned long long n);
/* Records one job's run time. */
void stats_observe(const char *kind, double seconds);
/* Worker slots: a worker takes one at start (returns its index or -1 when full or unmapped), sets its
 * gauges, and the supervisor frees the slot of a reaped pid (the worker may have died without freeing it). */
int stats_worker_attach(pid_t pid, int worker_kind);
void stats_worker_set(int slot, int pool_connections, int jobs_running);
void stats_worker_release(pid_t pid);

#endif
