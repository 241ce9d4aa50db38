/* pgkb configuration: defaults, then the YAML file, then PGKB_* environment variables (then DATABASE_URL). */
#ifndef PGKB_CFG_H
#define PGKB_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One worker kind's settings (workers.<kind>.*). */
struct cfg_worker {
	int processes;   /* worker processes of this kind per supervisor */
	int concurrency; /* jobs in flight per process */
};

/* One crawl.hosts entry: politeness overrides for one host, or, with a leading "*.", for its subdomains. */
struct cfg_host {
	char *host;       /* url_host() form ("docs.example.com", "127.0.0.1:8080") or "*.suffix"; NULL ends the list */
	int concurrency;  /* 0: inherit crawl.host_concurrency */
	int64_t delay_ms; /* -1: inherit crawl.host_delay */
};

enum cfg_worker_kind { CFG_WORKER_CRAWL, CFG_WORKER_INGEST, CFG_WORKER_EMBED, CFG_WORKER_NOOP, CFG_WORKER_KINDS };

struct cfg {
	/* database.* */
	char *database_url;         /* libpq conninfo or URI; DATABASE_URL overrides; "" = libpq defaults (PG* vars) */
	bool database_url_from_env; /* database_url came from DATABASE_URL or PGKB_DATABASE_URL, not the file */
	int pool_size;              /* connections per worker process, besides the LISTEN one */
	int64_t connect_timeout_ms; /* per connection attempt */
	/* Worker sessions' server-side timeouts (0: off): every statement, a wait for a lock, an idle open
	 * transaction; the statements that write a job's results get write_statement_timeout instead. */
	int64_t statement_timeout_ms;
	int64_t write_statement_timeout_ms;
	int64_t lock_timeout_ms;
	int64_t idle_in_transaction_timeout_ms;

	/* log.* */
	int log_level; /* enum log_level */
	bool log_json;

	/* workers.<kind>.* */
	struct cfg_worker workers[CFG_WORKER_KINDS];

	/* queue.* */
	int batch_size;               /* jobs claimed per round trip */
	int64_t lease_ms;             /* lease length; renewed every lease/3 while a job runs */
	int64_t poll_interval_ms;     /* claim poll backstop when no NOTIFY arrives */
	int64_t drain_timeout_ms;     /* SIGTERM: how long in-flight jobs may run before hand-back */
	int64_t history_retention_ms; /* finished jobs kept in pgkb.job_history */

	/* supervisor.* */
	int64_t restart_delay_min_ms; /* first respawn delay after a crash; doubles up to max */
	int64_t restart_delay_max_ms;
	char *metrics_listen; /* "127.0.0.1:9187" or "" for off */

	/* ingest.* */
	char **ingest_roots; /* NULL-terminated list of absolute directories that path jobs may read (never NULL) */
	int chunk_size;      /* characters per chunk (target) */
	int chunk_overlap;   /* characters repeated from the previous chunk */
	int code_min_length; /* minimum code block length to become a code example */
	int64_t gone_retention_ms; /* documents with status gone are deleted this long after their last change */
	int64_t max_document_bytes;
	/* documents (PDF, DOCX, PPTX, ODT, ODP, EPUB; lib/doc): their own size bounds, from disk and from the web,
	 * and the bounds of the contained converter child each one is extracted in */
	int64_t max_pdf_bytes;
	int64_t max_office_bytes;       /* the zip containers: DOCX, PPTX, ODT, ODP, EPUB */
	int max_document_pages;         /* PDF pages, slides or EPUB chapters extracted; the rest is dropped */
	int64_t converter_cpu_ms;       /* RLIMIT_CPU of the converter (whole seconds) */
	int64_t converter_memory_bytes; /* RLIMIT_AS of the converter */
	int64_t converter_timeout_ms;   /* wall clock of one conversion */

	/* memory.* */
	int64_t memory_retention_ms; /* pgkb_memory sessions idle this long are deleted (0: only by expires_at) */

	/* crawl.* */
	char *user_agent;           /* must carry a contact URL */
	int crawl_host_concurrency; /* requests in flight per host, across all workers */
	int64_t crawl_host_delay_ms; /* minimum spacing between requests to one host */
	int64_t fetch_timeout_ms;
	int64_t fetch_connect_timeout_ms;
	int64_t fetch_max_bytes;
	int64_t fetch_low_speed_bytes;   /* a fetch slower than this many bytes/s ... (0: no low-speed limit) */
	int64_t fetch_low_speed_time_ms; /* ... for this long fails (whole seconds: libcurl counts in seconds) */
	int64_t robots_retry_for_ms;     /* how long an unreachable robots.txt is retried before the crawl fails */
	int max_redirects;
	bool allow_private_addresses; /* loopback/private/link-local targets (tests, intranets) */
	char **allow_networks;        /* NULL-terminated networks (validated by addr_net_parse) whose non-public
	                                 addresses are allowed anyway (never NULL) */
	/* bounds of a crawl's discovery (sitemaps, llms.txt): a hostile sitemap index must not hold a worker */
	int sitemap_max_entries;      /* entries read per sitemap file */
	int sitemap_max_depth;        /* sitemap index levels followed below the top-level sitemaps */
	int sitemap_max_files;        /* sitemap files fetched per crawl */
	int discovery_max_urls;       /* URLs taken from sitemaps and llms.txt per crawl (also at most max_pages) */
	int64_t discovery_timeout_ms; /* wall time of a crawl's discovery */
	struct cfg_host *crawl_hosts; /* crawl.hosts, in file order, ended by host == NULL (never NULL); read it
	                                 through cfg_host_politeness() */

	/* embed.* */
	char *embed_provider;    /* builtin | openai | ollama */
	char *embed_model;
	int embed_dimension;     /* 384 | 768 | 1024 | 1536 | 3072 */
	char *embed_base_url;
	char *embed_api_key_env; /* name of the environment variable holding the API key (never the key) */
	int embed_batch_size;
	int embed_max_inflight;
	int64_t embed_timeout_ms;
	int embed_requests_per_minute; /* 0 = unlimited */
	int embed_tokens_per_minute;   /* 0 = unlimited */
	bool embed_reembed_on_change;  /* embed workers start pgkb.reembed when rows carry another model (087) */
};

/* Fills *cfg with defaults, then the YAML file at path (NULL: no file), then environment overrides from envp
 * (NULL-terminated "NAME=value" strings, normally environ). On error returns -1, leaves *cfg freed, and sets *err to
 * a heap message naming the key (and the file line where it applies), e.g.
 * "pgkb.yaml:7: queue.batch_size: expected an integer from 1 to 10000, got \"lots\"". */
int cfg_load(struct cfg *cfg, const char *path, char *const *envp, char **err);
/* As cfg_load, with the YAML document in text[0..len) instead of a file (NULL: none); name is used in messages
 * in place of the file name ("<string>" when NULL). For tests and fuzzing. */
int cfg_load_string(struct cfg *cfg, const char *name, const char *text, size_t len, char *const *envp, char **err);
/* Frees everything cfg_load allocated and zeroes *cfg; safe on a zeroed struct. */
void cfg_free(struct cfg *cfg);
/* Name of a worker kind as used in config keys and process titles ("crawl", "ingest", "embed", "noop"). */
const char *cfg_worker_kind_name(enum cfg_worker_kind kind);
/*
 * Politeness for one host: *concurrency (requests in flight, 1..64) and *delay_ms (spacing between request
 * starts, 0..1h) from crawl.hosts, each field falling back to crawl.host_concurrency / crawl.host_delay when
 * the matching entry leaves it out or no entry matches. host is the politeness key as url_host() returns it
 * (lower-case host, ":port" when not the scheme's default); it is compared ignoring ASCII case. An entry
 * naming the host exactly wins; otherwise the "*.suffix" entry with the longest suffix that host ends with
 * (after a '.'): "*.example.com" matches "a.example.com" and "a.b.example.com", not "example.com", and not
 * "a.example.com:8080" (the port is part of the key). NULL host: the globals. Either output pointer may be
 * NULL. Pure and cheap (a linear scan of the entries); safe to call per request.
 */
void cfg_host_politeness(const struct cfg *cfg, const char *host, int *concurrency, int64_t *delay_ms);
/* The largest concurrency any host can get: crawl.host_concurrency or a crawl.hosts override (for a
 * connection cap that must not undercut the per-host gate). */
int cfg_host_concurrency_max(const struct cfg *cfg);
/* Writes the effective configuration as YAML (secrets never included: the database URL's password is masked).
 * Returns a heap string the caller frees. */
char *cfg_dump(const struct cfg *cfg);

#endif
