/* Supervisor's metrics child: answers GET /metrics in Prometheus text with the shared counters and database
 * figures, and the health probes /healthz and /readyz (sup_health.c) (blocking sockets with timeouts, one short-lived connection per scrape; no event loop). */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/util/buf.h"
#include "lib/util/log.h"
#include "lib/util/mem.h"
#include "lib/pg/pgconninfo.h"
#include "workers/core/handlers.h"
#include "workers/core/stats.h"
#include "cmd/supervisor/sup.h"

#define METRICS_IO_TIMEOUT 5      /* seconds per read or write on a scrape connection */
#define METRICS_MAX_REQUEST 8192  /* request head bytes read at most */
#define METRICS_BIND_RETRIES 50   /* 100 ms apart: a reload's old metrics child may still hold the port */

static volatile sig_atomic_t metrics_stop;

static void on_term(int sig)
{
	metrics_stop = 1;
}

/* ---- the listening socket ---- */

int sup_split_listen(const char *listen_addr, char **host, char **port)
{
	const char *colon = strrchr(listen_addr, ':');
	if (!colon || colon == listen_addr)
		return -1;
	const char *h = listen_addr;
	size_t hl = (size_t)(colon - listen_addr);
	if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	*host = xstrndup(h, hl);
	*port = xstrdup(colon + 1);
	return 0;
}

/* Returns a listening socket on listen_addr, or -1 with *fatal set when the address itself is bad. */
static int metrics_listen(const char *listen_addr, bool *fatal)
{
	char *host = NULL, *port = NULL;
	*fatal = true;
	if (sup_split_listen(listen_addr, &host, &port) != 0) {
		log_error("metrics: bad listen address %s", listen_addr);
		return -1;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(*host ? host : NULL, port, &hints, &ai);
	free(host);
	free(port);
	if (rc != 0) {
		log_error("metrics: cannot resolve %s: %s", listen_addr, gai_strerror(rc));
		return -1;
	}
	int fd = -1, err = 0;
	for (int attempt = 0; fd < 0 && attempt < METRICS_BIND_RETRIES && !metrics_stop; attempt++) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			break;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 16) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
		if (err != EADDRINUSE)
			break;
		usleep(100000);
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		*fatal = err != EADDRINUSE;
		log_error("metrics: cannot listen on %s: %s", listen_addr, strerror(err));
	}
	return fd;
}

/* ---- the shared counters ---- */

static void put_family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static unsigned long long load(atomic_ullong *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static void put_counter(struct buf *b, struct stats_region *r, const char *name, size_t off, const char *help)
{
	put_family(b, name, "counter", help);
	for (int k = 0; k < r->nkinds; k++)
		buf_printf(b, "%s{kind=\"%s\"} %llu\n", name, job_kind_name(k),
		           load((atomic_ullong *)(void *)((char *)&r->kinds[k] + off)));
}

static void put_histogram(struct buf *b, struct stats_region *r)
{
	const char *name = "pgkb_job_duration_seconds";
	put_family(b, name, "histogram", "Time from a job's start to its success or failure in a worker.");
	for (int k = 0; k < r->nkinds; k++) {
		struct stats_kind_counters *c = &r->kinds[k];
		unsigned long long cum = 0;
		for (int i = 0; i < STATS_BUCKETS; i++) {
			cum += load(&c->duration_buckets[i]);
			buf_printf(b, "%s_bucket{kind=\"%s\",le=\"%g\"} %llu\n", name, job_kind_name(k),
			           stats_bucket_ms[i] / 1000.0, cum);
		}
		cum += load(&c->duration_buckets[STATS_BUCKETS]);
		buf_printf(b, "%s_bucket{kind=\"%s\",le=\"+Inf\"} %llu\n", name, job_kind_name(k), cum);
		buf_printf(b, "%s_sum{kind=\"%s\"} %.6f\n", name, job_kind_name(k), load(&c->duration_sum_us) / 1e6);
		buf_printf(b, "%s_count{kind=\"%s\"} %llu\n", name, job_kind_name(k), load(&c->duration_count));
	}
}

enum worker_gauge { GAUGE_POOL_CONNECTIONS, GAUGE_JOBS_RUNNING };

/* One gauge family with a sample per live worker process. */
static void put_worker_gauge(struct buf *b, struct stats_region *r, const char *name, const char *help,
                             enum worker_gauge g)
{
	put_family(b, name, "gauge", help);
	for (int i = 0; i < STATS_WORKERS; i++) {
		int pid = atomic_load(&r->workers[i].pid);
		if (!pid)
			continue;
		int v = g == GAUGE_POOL_CONNECTIONS ? atomic_load(&r->workers[i].pool_connections)
		                                    : atomic_load(&r->workers[i].jobs_running);
		buf_printf(b, "%s{worker_kind=\"%s\",pid=\"%d\"} %d\n", name,
		           cfg_worker_kind_name((enum cfg_worker_kind)atomic_load(&r->workers[i].worker_kind)), pid, v);
	}
}

static void put_workers(struct buf *b, struct stats_region *r)
{
	put_worker_gauge(b, r, "pgkb_worker_pool_connections",
	                 "Database connections of a worker process's pool that are up (besides LISTEN).",
	                 GAUGE_POOL_CONNECTIONS);
	put_worker_gauge(b, r, "pgkb_worker_jobs_running", "Jobs a worker process is running.", GAUGE_JOBS_RUNNING);
}

static void put_shared(struct buf *b)
{
	struct stats_region *r = stats_region();
	if (!r)
		return;
	put_counter(b, r, "pgkb_jobs_claimed_total", offsetof(struct stats_kind_counters, claimed),
	            "Jobs claimed by this supervisor's workers.");
	put_counter(b, r, "pgkb_jobs_succeeded_total", offsetof(struct stats_kind_counters, succeeded),
	            "Jobs completed successfully.");
	put_counter(b, r, "pgkb_jobs_failed_total", offsetof(struct stats_kind_counters, failed),
	            "Job attempts that failed (retried or dead).");
	put_counter(b, r, "pgkb_jobs_retried_total", offsetof(struct stats_kind_counters, retried),
	            "Failed attempts queued again with backoff.");
	put_counter(b, r, "pgkb_jobs_dead_total", offsetof(struct stats_kind_counters, dead),
	            "Failed attempts that left the job dead.");
	put_counter(b, r, "pgkb_jobs_refused_total", offsetof(struct stats_kind_counters, refused),
	            "Results refused by the fence: the job was no longer leased to the worker.");
	put_histogram(b, r);
	put_workers(b, r);
}

/* ---- database figures ---- */

static PGresult *db_query(PGconn *c, const char *sql)
{
	PGresult *res = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_warn("metrics: query failed: %s", PQresultErrorMessage(res));
		PQclear(res);
		return NULL;
	}
	return res;
}

static const char *const queue_sql =
	"SELECT kind,"
	"       count(*) FILTER (WHERE state = 'queued'),"
	"       count(*) FILTER (WHERE state = 'queued' AND run_at <= clock_timestamp()),"
	"       count(*) FILTER (WHERE state = 'running'),"
	"       count(*) FILTER (WHERE state = 'dead'),"
	"       coalesce(extract(epoch FROM clock_timestamp() - min(run_at) FILTER"
	"                (WHERE state = 'queued' AND run_at <= clock_timestamp())), 0)"
	"  FROM pgkb.jobs GROUP BY kind";

/* Queue depth per kind and state, ready jobs and the oldest ready job's age; every known kind gets a line. */
static void put_queue(struct buf *b, PGresult *res)
{
	static const char *const fam[] = {"pgkb_queue_jobs", "pgkb_queue_ready_jobs", "pgkb_queue_oldest_ready_seconds",
	                                  "pgkb_queue_dead_jobs"};
	int nkinds = job_kind_count();
	char (*vals)[5][32] = xcalloc((size_t)nkinds, sizeof *vals);
	for (int k = 0; k < nkinds; k++)
		for (int j = 0; j < 5; j++)
			snprintf(vals[k][j], sizeof vals[k][j], "0");
	for (int i = 0; i < PQntuples(res); i++) {
		int k = job_kind_index(PQgetvalue(res, i, 0));
		for (int j = 0; k >= 0 && j < 5; j++)
			snprintf(vals[k][j], sizeof vals[k][j], "%s", PQgetvalue(res, i, j + 1));
	}
	put_family(b, fam[0], "gauge", "Jobs in pgkb.jobs by kind and state (queued includes scheduled ones).");
	for (int k = 0; k < nkinds; k++)
		buf_printf(b, "%s{kind=\"%s\",state=\"queued\"} %s\n%s{kind=\"%s\",state=\"running\"} %s\n"
		              "%s{kind=\"%s\",state=\"dead\"} %s\n",
		           fam[0], job_kind_name(k), vals[k][0], fam[0], job_kind_name(k), vals[k][2], fam[0],
		           job_kind_name(k), vals[k][3]);
	put_family(b, fam[1], "gauge", "Queued jobs whose run_at has come.");
	for (int k = 0; k < nkinds; k++)
		buf_printf(b, "%s{kind=\"%s\"} %s\n", fam[1], job_kind_name(k), vals[k][1]);
	put_family(b, fam[2], "gauge", "Age of the oldest ready job (since its run_at), 0 when none.");
	for (int k = 0; k < nkinds; k++)
		buf_printf(b, "%s{kind=\"%s\"} %s\n", fam[2], job_kind_name(k), vals[k][4]);
	put_family(b, fam[3], "gauge", "Dead jobs (out of attempts) waiting for pgkb retry or cancel.");
	for (int k = 0; k < nkinds; k++)
		buf_printf(b, "%s{kind=\"%s\"} %s\n", fam[3], job_kind_name(k), vals[k][3]);
	free(vals);
}

static void put_scalar(struct buf *b, PGconn *c, const char *name, const char *help, const char *sql)
{
	PGresult *res = db_query(c, sql);
	if (!res)
		return;
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
		put_family(b, name, "gauge", help);
		buf_printf(b, "%s %s\n", name, PQgetvalue(res, 0, 0));
	}
	PQclear(res);
}

/* Documents by status, every status with a line (0 when none): crawl and ingest progress on a dashboard. */
static void put_documents(struct buf *b, PGconn *c)
{
	static const char *const statuses[] = {"queued", "fetched", "chunked", "embedded", "ready",
	                                       "failed", "skipped", "gone"};
	enum { NSTATUS = sizeof statuses / sizeof *statuses };
	PGresult *res = db_query(c, "SELECT status, count(*) FROM pgkb.documents GROUP BY status");
	if (!res)
		return;
	const char *counts[NSTATUS] = {0};
	for (int i = 0; i < PQntuples(res); i++)
		for (int k = 0; k < NSTATUS; k++)
			if (strcmp(PQgetvalue(res, i, 0), statuses[k]) == 0)
				counts[k] = PQgetvalue(res, i, 1);
	put_family(b, "pgkb_documents", "gauge", "Documents (pages, files, inline texts) by status.");
	for (int k = 0; k < NSTATUS; k++)
		buf_printf(b, "pgkb_documents{status=\"%s\"} %s\n", statuses[k], counts[k] ? counts[k] : "0");
	PQclear(res);
}

/* Appends the database figures; returns 1 when the database answered, else 0. */
static int put_database(struct buf *b, const struct pg_conninfo *ci)
{
	char *err = NULL;
	PGconn *c = pg_connect_blocking(ci, &err);
	if (!c) {
		log_warn("metrics: %s", err);
		free(err);
		return 0;
	}
	PQclear(db_query(c, "SET statement_timeout = '5s'"));
	PGresult *res = db_query(c, queue_sql);
	int up = res != NULL;
	if (res) {
		put_queue(b, res);
		PQclear(res);
	}
	put_documents(b, c);
	put_scalar(b, c, "pgkb_crawls_running", "Crawls still running (pgkb.crawls).",
	           "SELECT count(*) FROM pgkb.crawls WHERE status = 'running'");
	put_scalar(b, c, "pgkb_database_connections", "Connections to this database (pg_stat_activity).",
	           "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()");
	put_scalar(b, c, "pgkb_database_max_connections", "The server's max_connections.",
	           "SELECT current_setting('max_connections')::int");
	put_scalar(b, c, "pgkb_jobs_table_dead_tuples", "Dead tuples in pgkb.jobs (pg_stat_user_tables.n_dead_tup).",
	           "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relid = 'pgkb.jobs'::regclass");
	put_scalar(b, c, "pgkb_oldest_transaction_seconds",
	           "Age of the oldest open transaction on the server (it holds back vacuum), 0 when none.",
	           "SELECT coalesce(extract(epoch FROM clock_timestamp() - min(xact_start)), 0) FROM pg_stat_activity"
	           " WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid()");
	PQfinish(c);
	return up;
}

/* The whole response body of a scrape (a heap string). */
static char *metrics_render(const struct pg_conninfo *ci)
{
	struct buf b = BUF_INIT;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	put_shared(&b);
	int up = put_database(&b, ci);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	put_family(&b, "pgkb_database_up", "gauge", "1 when this scrape's database queries succeeded.");
	buf_printf(&b, "pgkb_database_up %d\n", up);
	put_family(&b, "pgkb_scrape_duration_seconds", "gauge", "Time this scrape took.");
	buf_printf(&b, "pgkb_scrape_duration_seconds %.6f\n",
	           (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return buf_steal(&b);
}

/* ---- HTTP ---- */

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void respond(int fd, int code, const char *reason, const char *ctype, const char *body, bool head_only)
{
	char head[256];
	size_t len = strlen(body);
	int n = snprintf(head, sizeof head,
	                 "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", code,
	                 reason, ctype, len);
	write_all(fd, head, (size_t)n);
	if (!head_only)
		write_all(fd, body, len);
}

/* Reads the request head (up to the blank line); returns its length, or -1 on timeout, error or overflow. */
static int read_head(int fd, char *req, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		ssize_t r = recv(fd, req + n, cap - 1 - n, 0);
		if (r < 0 && errno == EINTR && !metrics_stop)
			continue;
		if (r <= 0)
			return -1;
		n += (size_t)r;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			return (int)n;
	}
	return -1;
}

/* True when path (its query string ignored) is p. */
static bool path_is(const char *path, const char *p)
{
	size_t plen = strcspn(path, "?");
	return plen == strlen(p) && strncmp(path, p, plen) == 0;
}

static void serve_one(int fd, struct sup *s, const struct pg_conninfo *ci)
{
	struct timeval tv = {METRICS_IO_TIMEOUT, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	char req[METRICS_MAX_REQUEST];
	if (read_head(fd, req, sizeof req) < 0)
		return;
	char method[16] = "", path[256] = "";
	if (sscanf(req, "%15s %255s", method, path) != 2) {
		respond(fd, 400, "Bad Request", "text/plain", "bad request\n", false);
		return;
	}
	bool head = strcmp(method, "HEAD") == 0;
	if (strcmp(method, "GET") != 0 && !head) {
		respond(fd, 405, "Method Not Allowed", "text/plain", "only GET /metrics, /healthz or /readyz\n", false);
		return;
	}
	if (path_is(path, "/healthz")) {
		/* liveness: this process answers (a supervisor whose metrics child is gone is restarted by it) */
		respond(fd, 200, "OK", "text/plain", "ok\n", head);
		return;
	}
	if (path_is(path, "/readyz")) {
		char why[512], body[560];
		bool ready = sup_ready(s, ci, why, sizeof why);
		snprintf(body, sizeof body, "%s\n", ready ? "ready" : why);
		respond(fd, ready ? 200 : 503, ready ? "OK" : "Service Unavailable", "text/plain", body, head);
		return;
	}
	if (!path_is(path, "/metrics")) {
		respond(fd, 404, "Not Found", "text/plain", "not found: try /metrics, /healthz or /readyz\n", head);
		return;
	}
	char *body = metrics_render(ci);
	respond(fd, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, head);
	free(body);
}

static void metrics_signals(void)
{
	struct sigaction sa = {.sa_handler = on_term}; /* no SA_RESTART: accept() returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		metrics_stop = 1;
}

int sup_metrics_main(struct sup *s)
{
	metrics_signals();
	struct pg_conninfo ci;
	char *err = NULL;
	if (pg_conninfo_init(&ci, s->cfg.database_url, s->cfg.database_url_from_env, "pgkb-metrics",
	                     (long)s->cfg.connect_timeout_ms, &err) != 0) {
		log_error("%s", err);
		free(err);
		return 2;
	}
	bool fatal = false;
	int lfd = metrics_listen(s->cfg.metrics_listen, &fatal);
	if (lfd < 0) {
		pg_conninfo_free(&ci);
		return metrics_stop ? 0 : fatal ? 2 : 1;
	}
	log_info("metrics on http://%s/metrics", s->cfg.metrics_listen);
	while (!metrics_stop) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EINTR && errno != ECONNABORTED) {
				log_warn("metrics: accept: %s", strerror(errno));
				usleep(100000); /* e.g. out of descriptors: pause instead of spinning */
			}
			continue;
		}
		serve_one(fd, s, &ci);
		close(fd);
	}
	close(lfd);
	pg_conninfo_free(&ci);
	return 0;
}
