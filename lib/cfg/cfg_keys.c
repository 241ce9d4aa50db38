/* The configuration key table (alphabetical within each section) and the typed parsers behind it. */
#include "lib/cfg/cfg_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util/buf.h"
#include "lib/util/duration.h"
#include "lib/util/mem.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define KIB 1024LL
#define GIB (1024LL * 1024 * 1024)

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL}; /* index = enum log_level */
static const char *const providers[] = {"builtin", "openai", "ollama", NULL};
static const int dimensions[] = {384, 768, 1024, 1536, 3072, 0};

#define OFF(f) offsetof(struct cfg, f)
#define K_INT(p, f, d, lo, hi, doc) {p, CFG_INT, OFF(f), d, lo, hi, NULL, NULL, NULL, 0, doc}
#define K_ONEOF(p, f, d, set, doc) {p, CFG_INT, OFF(f), d, 0, 0, NULL, set, NULL, 0, doc}
#define K_BOOL(p, f, d, doc) {p, CFG_BOOL, OFF(f), d, 0, 0, NULL, NULL, NULL, 0, doc}
#define K_DUR(p, f, d, lo, hi, doc) {p, CFG_DURATION, OFF(f), d, lo, hi, NULL, NULL, NULL, 0, doc}
#define K_BYTES(p, f, d, lo, hi, doc) {p, CFG_BYTES, OFF(f), d, lo, hi, NULL, NULL, NULL, 0, doc}
#define K_STR(p, f, d, chk, fl, doc) {p, CFG_STR, OFF(f), d, 0, 0, NULL, NULL, chk, fl, doc}
#define K_LIST(p, f, chk, doc) {p, CFG_LIST, OFF(f), "", 0, 0, NULL, NULL, chk, 0, doc}
#define K_LIST_COMMA(p, f, chk, doc) {p, CFG_LIST, OFF(f), "", 0, 0, NULL, NULL, chk, CFG_LIST_COMMA, doc}
#define K_ENUM_INT(p, f, d, ch, doc) {p, CFG_ENUM_INT, OFF(f), d, 0, 0, ch, NULL, NULL, 0, doc}
#define K_ENUM_STR(p, f, d, ch, doc) {p, CFG_ENUM_STR, OFF(f), d, 0, 0, ch, NULL, NULL, 0, doc}
#define K_HOSTS(p, f, doc) {p, CFG_HOSTS, OFF(f), "", 0, 0, NULL, NULL, NULL, 0, doc}
#define K_WORKER(kind, name, conc, procs, what) \
	K_INT("workers." name ".concurrency", workers[kind].concurrency, conc, 1, 10000, \
	      "jobs in flight per " name " worker process"), \
	K_INT("workers." name ".processes", workers[kind].processes, procs, 0, 256, \
	      name " worker processes per supervisor (" what ")")

const struct cfg_key cfg_keys[] = {
	K_DUR("database.connect_timeout", connect_timeout_ms, "5s", SEC, 10 * MIN, "timeout of one connection attempt"),
	K_DUR("database.idle_in_transaction_timeout", idle_in_transaction_timeout_ms, "60s", 0, DAY,
	      "worker sessions: the server ends a session idle this long inside a transaction (0: off)"),
	K_DUR("database.lock_timeout", lock_timeout_ms, "10s", 0, DAY,
	      "worker sessions: the longest wait for a lock another session holds; the request is retried (0: off)"),
	K_INT("database.pool_size", pool_size, "4", 1, 100, "connections per worker process, besides the LISTEN one"),
	K_DUR("database.statement_timeout", statement_timeout_ms, "60s", 0, DAY,
	      "worker sessions: the longest a statement may run (claims, reads, queue updates; 0: off)"),
	K_STR("database.url", database_url, "", NULL, CFG_SECRET,
	      "libpq URI or key=value conninfo; \"\" = libpq defaults (PG* variables); DATABASE_URL overrides it"),
	K_DUR("database.write_statement_timeout", write_statement_timeout_ms, "5m", 0, DAY,
	      "worker sessions: the longest a statement writing a job's results may run (0: off)"),

	K_BOOL("log.json", log_json, "false", "one JSON object per log line instead of plain text"),
	K_ENUM_INT("log.level", log_level, "info", log_levels, "lowest level logged: error, warn, info or debug"),

	K_WORKER(CFG_WORKER_CRAWL, "crawl", "32", "1", "crawl and fetch jobs"),
	K_WORKER(CFG_WORKER_EMBED, "embed", "4", "1", "embed jobs"),
	K_WORKER(CFG_WORKER_INGEST, "ingest", "8", "1", "ingest jobs"),
	K_WORKER(CFG_WORKER_NOOP, "noop", "256", "0", "noop test jobs"),

	K_INT("queue.batch_size", batch_size, "50", 1, 10000, "jobs claimed per round trip"),
	K_DUR("queue.drain_timeout", drain_timeout_ms, "30s", 0, DAY,
	      "on SIGTERM, how long running jobs may finish before they are handed back"),
	K_DUR("queue.history_retention", history_retention_ms, "7d", 0, 3650 * DAY,
	      "how long finished jobs stay in pgkb.job_history"),
	K_DUR("queue.lease", lease_ms, "60s", SEC, DAY, "job lease length; renewed every lease/4 while a job runs"),
	K_DUR("queue.poll_interval", poll_interval_ms, "1s", 10, HOUR, "claim poll backstop when no NOTIFY arrives"),

	K_STR("supervisor.metrics_listen", metrics_listen, "", cfg_check_listen, 0,
	      "host:port for the metrics endpoint, \"\" = off"),
	K_DUR("supervisor.restart_delay_max", restart_delay_max_ms, "60s", 10, DAY,
	      "longest respawn delay for a worker that keeps crashing"),
	K_DUR("supervisor.restart_delay_min", restart_delay_min_ms, "1s", 10, DAY,
	      "first respawn delay after a crash; doubles up to restart_delay_max"),

	K_INT("ingest.chunk_overlap", chunk_overlap, "200", 0, 50000,
	      "characters repeated from the previous chunk (at most chunk_size/2)"),
	K_INT("ingest.chunk_size", chunk_size, "1200", 100, 100000, "target characters per chunk"),
	K_INT("ingest.code_min_length", code_min_length, "250", 1, 100000,
	      "minimum length of a code block that becomes a code example"),
	K_DUR("ingest.converter_cpu", converter_cpu_ms, "60s", SEC, HOUR,
	      "CPU time of the contained converter child for one PDF or office document (whole seconds)"),
	K_BYTES("ingest.converter_memory", converter_memory_bytes, "2GiB", 64 * 1024 * KIB, 64 * GIB,
	        "address space of the contained converter child (RLIMIT_AS)"),
	K_DUR("ingest.converter_timeout", converter_timeout_ms, "2m", SEC, HOUR,
	      "wall-clock time of one document conversion; the converter child is killed after it"),
	K_DUR("ingest.gone_retention", gone_retention_ms, "30d", 0, 3650 * DAY,
	      "how long documents with status gone are kept before they are deleted"),
	K_BYTES("ingest.max_document_bytes", max_document_bytes, "20MB", KIB, GIB,
	        "largest text document (HTML, Markdown, text) ingested"),
	K_INT("ingest.max_document_pages", max_document_pages, "5000", 1, 1000000,
	      "PDF pages, slides or EPUB chapters extracted per document; the rest is left out"),
	K_BYTES("ingest.max_office_bytes", max_office_bytes, "100MB", KIB, 4 * GIB,
	        "largest DOCX, PPTX, ODT, ODP or EPUB ingested, from disk or fetched by a crawl"),
	K_BYTES("ingest.max_pdf_bytes", max_pdf_bytes, "100MB", KIB, 4 * GIB,
	        "largest PDF ingested, from disk or fetched by a crawl"),
	K_LIST("ingest.roots", ingest_roots, cfg_check_absolute_path,
	       "absolute directories that file ingest jobs may read (none by default)"),

	K_LIST_COMMA("crawl.allow_networks", allow_networks, cfg_check_network,
	       "networks whose private addresses may be crawled, e.g. [10.1.2.3, \"fd00:1::/64\"] (none by default)"),
	K_BOOL("crawl.allow_private_addresses", allow_private_addresses, "false",
	       "allow every loopback, private and link-local target (tests); prefer crawl.allow_networks"),
	K_DUR("crawl.connect_timeout", fetch_connect_timeout_ms, "10s", 100, 10 * MIN,
	      "TCP+TLS connect timeout per fetch"),
	K_INT("crawl.discovery_max_urls", discovery_max_urls, "100000", 1, 10000000,
	      "URLs a crawl takes from its sitemaps and llms.txt (and at most its max_pages)"),
	K_DUR("crawl.discovery_timeout", discovery_timeout_ms, "2m", SEC, HOUR,
	      "wall time of a crawl's discovery (sitemaps, llms.txt); what was found by then is crawled"),
	K_INT("crawl.host_concurrency", crawl_host_concurrency, "2", 1, 64,
	      "requests in flight per host, across all workers"),
	K_DUR("crawl.host_delay", crawl_host_delay_ms, "250ms", 0, HOUR, "minimum spacing between requests to one host"),
	K_HOSTS("crawl.hosts", crawl_hosts,
	        "per-host overrides of host_concurrency and host_delay: {\"docs.example.com\": {concurrency: 8, "
	        "delay: 50ms}, \"*.example.org\": {delay: 1s}}"),
	K_BYTES("crawl.low_speed_limit", fetch_low_speed_bytes, "1KiB", 0, GIB,
	        "a fetch receiving less than this per second for crawl.low_speed_time fails (0 = no such limit)"),
	K_DUR("crawl.low_speed_time", fetch_low_speed_time_ms, "10s", SEC, HOUR,
	      "how long a fetch may stay under crawl.low_speed_limit (whole seconds)"),
	K_BYTES("crawl.max_bytes", fetch_max_bytes, "10MB", KIB, GIB, "largest response body fetched"),
	K_INT("crawl.max_redirects", max_redirects, "5", 0, 50, "redirects followed per fetch"),
	K_DUR("crawl.robots_retry_for", robots_retry_for_ms, "5m", 0, DAY,
	      "how long a crawl retries an unreachable robots.txt (5xx, 429, network error) before it fails"),
	K_INT("crawl.sitemap_max_depth", sitemap_max_depth, "3", 0, 10,
	      "sitemap index levels followed below the top-level sitemaps (0: none)"),
	K_INT("crawl.sitemap_max_entries", sitemap_max_entries, "50000", 1, 50000,
	      "entries read per sitemap file (the protocol's limit is 50000)"),
	K_INT("crawl.sitemap_max_files", sitemap_max_files, "64", 1, 100000, "sitemap files fetched per crawl"),
	K_DUR("crawl.timeout", fetch_timeout_ms, "30s", SEC, HOUR, "total time limit of one fetch"),
	K_STR("crawl.user_agent", user_agent, "pgkb/0.1 (+https://github.com/pgkb/pgkb)", cfg_check_user_agent, 0,
	      "User-Agent header; must carry a contact URL or e-mail address"),

	K_DUR("memory.retention", memory_retention_ms, "0", 0, 3650 * DAY,
	      "conversation sessions idle this long are deleted with their messages (0 = kept until expires_at)"),

	K_STR("embed.api_key_env", embed_api_key_env, "OPENAI_API_KEY", cfg_check_env_name, CFG_SECRET,
	      "name of the environment variable holding the API key (never the key itself)"),
	K_STR("embed.base_url", embed_base_url, "", cfg_check_http_url, 0,
	      "provider endpoint, e.g. https://api.openai.com or http://localhost:11434 (needed by openai, ollama)"),
	K_INT("embed.batch_size", embed_batch_size, "64", 1, 2048, "texts per embedding request"),
	K_ONEOF("embed.dimension", embed_dimension, "384", dimensions, "vector size: 384, 768, 1024, 1536 or 3072"),
	K_INT("embed.max_inflight", embed_max_inflight, "4", 1, 256, "embedding requests in flight per process"),
	K_STR("embed.model", embed_model, "pgkb-builtin-v1", cfg_check_model, 0, "model name sent to the provider"),
	K_ENUM_STR("embed.provider", embed_provider, "builtin", providers,
	           "builtin (offline feature hashing), openai (any /v1/embeddings) or ollama"),
	K_BOOL("embed.reembed_on_change", embed_reembed_on_change, "false",
	       "embed workers start a re-embed of rows that carry another model or dimension"),
	K_INT("embed.requests_per_minute", embed_requests_per_minute, "0", 0, 1000000000,
	      "provider request rate limit, 0 = unlimited"),
	K_DUR("embed.timeout", embed_timeout_ms, "60s", SEC, 10 * MIN, "time limit of one embedding request"),
	K_INT("embed.tokens_per_minute", embed_tokens_per_minute, "0", 0, 2000000000,
	      "provider token rate limit (estimated), 0 = unlimited"),
};
const size_t cfg_nkeys = sizeof cfg_keys / sizeof cfg_keys[0];

#define FIELD(c, k, T) ((T *)(void *)((char *)(c) + (k)->off))

const struct cfg_key *cfg_key_find(const char *path)
{
	for (size_t i = 0; i < cfg_nkeys; i++)
		if (strcmp(cfg_keys[i].path, path) == 0)
			return &cfg_keys[i];
	return NULL;
}

bool cfg_key_is_section(const char *prefix)
{
	size_t n = strlen(prefix);
	if (n == 0)
		return true;
	for (size_t i = 0; i < cfg_nkeys; i++)
		if (strncmp(cfg_keys[i].path, prefix, n) == 0 && cfg_keys[i].path[n] == '.')
			return true;
	return false;
}

char *cfg_key_env_name(const struct cfg_key *k, char *out, size_t outsz)
{
	size_t i = 0;
	const char *p = k->path;
	snprintf(out, outsz, "PGKB_");
	for (i = strlen(out); *p && i + 1 < outsz; p++, i++)
		out[i] = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
	out[i] = '\0';
	return out;
}

char *cfg_key_expected(const struct cfg_key *k)
{
	char lo[DURATION_FMT_MAX], hi[DURATION_FMT_MAX];
	struct buf b = BUF_INIT;
	switch (k->type) {
	case CFG_INT:
		if (!k->oneof)
			return xasprintf("an integer from %lld to %lld", (long long)k->min, (long long)k->max);
		buf_puts(&b, "one of ");
		for (const int *v = k->oneof; *v; v++)
			buf_printf(&b, "%s%d", v == k->oneof ? "" : ", ", *v);
		return buf_steal(&b);
	case CFG_BOOL:
		return xstrdup("true or false");
	case CFG_DURATION:
		return xasprintf("a duration from %s to %s (e.g. 250ms, 30s, 5m, 1h, 7d)", duration_format(k->min, lo),
		                 duration_format(k->max, hi));
	case CFG_BYTES:
		return xasprintf("a size from %s to %s (e.g. 512KiB, 10MB, 1GiB)", cfg_bytes_format(k->min, lo, sizeof lo),
		                 cfg_bytes_format(k->max, hi, sizeof hi));
	case CFG_STR:
		return xstrdup("a string");
	case CFG_LIST:
		return xasprintf("a list of strings (each %s)", k->check ? k->check("") : "a string");
	case CFG_ENUM_INT:
	case CFG_ENUM_STR:
		buf_puts(&b, "one of ");
		for (const char *const *c = k->choices; *c; c++)
			buf_printf(&b, "%s%s", c == k->choices ? "" : ", ", *c);
		return buf_steal(&b);
	case CFG_HOSTS:
		return xstrdup("a mapping of host names to {concurrency: N, delay: D}");
	}
	return xstrdup("a value");
}

/* "expected WHAT, got \"V\"" (the value left out for secrets). */
static char *why_msg(const struct cfg_key *k, const char *what, const char *v)
{
	if (k->flags & CFG_SECRET)
		return xasprintf("expected %s", what);
	char *q = cfg_quote(v);
	char *m = xasprintf("expected %s, got %s", what, q);
	free(q);
	return m;
}

static int fail(const struct cfg_key *k, const char *v, char **why)
{
	char *what = cfg_key_expected(k);
	*why = why_msg(k, what, v);
	free(what);
	return -1;
}

static int parse_int(const char *s, int64_t *out)
{
	const char *p = s[0] == '-' ? s + 1 : s;
	int64_t n = 0;
	if (!*p)
		return -1;
	for (; *p; p++) {
		if (!isdigit((unsigned char)*p) || n > (INT64_MAX - (*p - '0')) / 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
	*out = s[0] == '-' ? -n : n;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
			*out = strcasecmp(s, yes[i]) == 0;
			return 0;
		}
	}
	return -1;
}

int cfg_key_parse_number(const struct cfg_key *k, const char *text, int64_t *out, char **why)
{
	int64_t v;
	bool ok;
	if (k->type == CFG_INT) {
		ok = parse_int(text, &v) == 0;
		if (ok && k->oneof) {
			const int *o = k->oneof;
			while (*o && *o != v)
				o++;
			ok = *o != 0;
		} else if (ok) {
			ok = v >= k->min && v <= k->max;
		}
	} else if (k->type == CFG_DURATION || k->type == CFG_BYTES) {
		ok = (k->type == CFG_DURATION ? duration_parse(text, &v) : cfg_bytes_parse(text, &v)) == 0 && v >= k->min &&
		     v <= k->max;
	} else {
		ok = false;
	}
	if (!ok)
		return fail(k, text, why);
	*out = v;
	return 0;
}

static int set_enum(struct cfg *c, const struct cfg_key *k, const char *text, char **why)
{
	for (const char *const *ch = k->choices; *ch; ch++) {
		if (strcasecmp(text, *ch) != 0)
			continue;
		if (k->type == CFG_ENUM_INT) {
			*FIELD(c, k, int) = (int)(ch - k->choices);
		} else {
			free(*FIELD(c, k, char *));
			*FIELD(c, k, char *) = xstrdup(*ch);
		}
		return 0;
	}
	return fail(k, text, why);
}

static void list_free(char **items)
{
	for (char **p = items; p && *p; p++)
		free(*p);
	free(items);
}

void cfg_list_replace(struct cfg *c, const struct cfg_key *k, char **items)
{
	list_free(*FIELD(c, k, char **));
	*FIELD(c, k, char **) = items;
}

int cfg_list_item_check(const struct cfg_key *k, const char *item, char **why)
{
	const char *what = k->check ? k->check(item) : NULL;
	if (!what)
		return 0;
	*why = why_msg(k, what, item);
	return -1;
}

/* A colon-separated list (as in PATH), or with CFG_LIST_COMMA comma-separated with blanks around items
 * ignored; empty items are skipped. */
static int set_list(struct cfg *c, const struct cfg_key *k, const char *text, char **why)
{
	size_t n = 0, cap = 4;
	char **items = xcalloc(cap, sizeof *items);
	const bool comma = k->flags & CFG_LIST_COMMA;
	const char *sep = comma ? "," : ":";
	for (const char *p = text; *p;) {
		if (comma)
			p += strspn(p, " \t");
		size_t len = strcspn(p, sep), skip = len + (p[len] == *sep);
		while (comma && len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len) {
			if (n + 2 > cap)
				items = xrealloc(items, (cap *= 2) * sizeof *items);
			items[n] = xstrndup(p, len);
			items[++n] = NULL;
			if (cfg_list_item_check(k, items[n - 1], why) != 0) {
				list_free(items);
				return -1;
			}
		}
		p += skip;
	}
	cfg_list_replace(c, k, items);
	return 0;
}

int cfg_key_set(struct cfg *c, const struct cfg_key *k, const char *text, char **why)
{
	int64_t v;
	bool b;
	switch (k->type) {
	case CFG_INT:
		if (cfg_key_parse_number(k, text, &v, why) != 0)
			return -1;
		*FIELD(c, k, int) = (int)v;
		return 0;
	case CFG_BOOL:
		if (parse_bool(text, &b) != 0)
			return fail(k, text, why);
		*FIELD(c, k, bool) = b;
		return 0;
	case CFG_DURATION:
	case CFG_BYTES:
		if (cfg_key_parse_number(k, text, &v, why) != 0)
			return -1;
		*FIELD(c, k, int64_t) = v;
		return 0;
	case CFG_STR:
		if (k->check && k->check(text)) {
			*why = why_msg(k, k->check(text), text);
			return -1;
		}
		free(*FIELD(c, k, char *));
		*FIELD(c, k, char *) = xstrdup(text);
		return 0;
	case CFG_LIST:
		return set_list(c, k, text, why);
	case CFG_ENUM_INT:
	case CFG_ENUM_STR:
		return set_enum(c, k, text, why);
	case CFG_HOSTS:
		if (!*text) {
			cfg_hosts_replace(c, k, xcalloc(1, sizeof(struct cfg_host)));
			return 0;
		}
		return cfg_yaml_hosts(c, k, text, why);
	}
	return fail(k, text, why);
}

void cfg_set_defaults(struct cfg *c)
{
	for (size_t i = 0; i < cfg_nkeys; i++) {
		char *why = NULL;
		if (cfg_key_set(c, &cfg_keys[i], cfg_keys[i].def, &why) != 0) {
			fprintf(stderr, "pgkb: bad built-in default for %s: %s\n", cfg_keys[i].path, why);
			abort();
		}
	}
}
