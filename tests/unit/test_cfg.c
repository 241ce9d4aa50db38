/* Unit tests: configuration defaults, YAML file, environment overrides, errors, cross checks, dump masking. */
#include "lib/cfg/cfg.h"
#include "lib/cfg/cfg_internal.h"
#include "lib/util/duration.h"
#include "lib/util/log.h"
#include "lib/util/mem.h"
#include "testlib.h"

#include <stdlib.h>
#include <unistd.h>

static char *const no_env[] = {NULL};

/* Writes text to a new temp file; returns its heap path. */
static char *tmp_yaml(const char *text)
{
	char *path = xstrdup("/tmp/pgkb-test-cfg-XXXXXX");
	int fd = mkstemp(path);
	ASSERT_TRUE(fd >= 0);
	if (fd >= 0) {
		ASSERT_INT_EQ(write(fd, text, strlen(text)), strlen(text));
		close(fd);
	}
	return path;
}

/* cfg_load on a temp file holding text; in *err the temp file's name is replaced by "pgkb.yaml". */
static int load_yaml(struct cfg *c, const char *text, char *const *env, char **err)
{
	char *path = tmp_yaml(text);
	*err = NULL;
	int rc = cfg_load(c, path, env, err);
	if (*err && strncmp(*err, path, strlen(path)) == 0) {
		char *m = xasprintf("pgkb.yaml%s", *err + strlen(path));
		free(*err);
		*err = m;
	}
	unlink(path);
	free(path);
	return rc;
}

/* Asserts that text fails to load with exactly the message want, and leaves the struct zeroed. */
#define ASSERT_YAML_ERROR(text, env, want) \
	do { \
		struct cfg _c; \
		char *_err = NULL; \
		memset(&_c, 0xa5, sizeof _c); \
		ASSERT_INT_EQ(load_yaml(&_c, (text), (env), &_err), -1); \
		ASSERT_STR_EQ(_err, (want)); \
		ASSERT_TRUE(_c.database_url == NULL && _c.ingest_roots == NULL && _c.batch_size == 0); \
		free(_err); \
	} while (0)

static char *defaults_dump(void)
{
	struct cfg c;
	char *err = NULL;
	ASSERT_INT_EQ(cfg_load(&c, NULL, no_env, &err), 0);
	char *d = cfg_dump(&c);
	cfg_free(&c);
	return d;
}

TEST(defaults_without_a_file)
{
	struct cfg c;
	char *err = NULL;
	ASSERT_INT_EQ(cfg_load(&c, NULL, NULL, &err), 0);
	ASSERT_STR_EQ(c.database_url, "");
	ASSERT_TRUE(!c.database_url_from_env);
	ASSERT_INT_EQ(c.pool_size, 4);
	ASSERT_INT_EQ(c.connect_timeout_ms, 5000);
	ASSERT_INT_EQ(c.log_level, LOG_INFO);
	ASSERT_TRUE(!c.log_json);
	ASSERT_INT_EQ(c.workers[CFG_WORKER_CRAWL].processes, 1);
	ASSERT_INT_EQ(c.workers[CFG_WORKER_CRAWL].concurrency, 32);
	ASSERT_INT_EQ(c.workers[CFG_WORKER_INGEST].processes, 1);
	ASSERT_INT_EQ(c.workers[CFG_WORKER_INGEST].concurrency, 8);
	ASSERT_INT_EQ(c.workers[CFG_WORKER_EMBED].processes, 1);
	ASSERT_INT_EQ(c.workers[CFG_WORKER_EMBED].concurrency, 4);
	ASSERT_INT_EQ(c.workers[CFG_WORKER_NOOP].processes, 0);
	ASSERT_INT_EQ(c.workers[CFG_WORKER_NOOP].concurrency, 256);
	ASSERT_INT_EQ(c.batch_size, 50);
	ASSERT_INT_EQ(c.lease_ms, 60000);
	ASSERT_INT_EQ(c.poll_interval_ms, 1000);
	ASSERT_INT_EQ(c.drain_timeout_ms, 30000);
	ASSERT_INT_EQ(c.history_retention_ms, 7LL * 86400000);
	ASSERT_INT_EQ(c.restart_delay_min_ms, 1000);
	ASSERT_INT_EQ(c.restart_delay_max_ms, 60000);
	ASSERT_STR_EQ(c.metrics_listen, "");
	ASSERT_TRUE(c.ingest_roots != NULL && c.ingest_roots[0] == NULL);
	ASSERT_INT_EQ(c.chunk_size, 1200);
	ASSERT_INT_EQ(c.chunk_overlap, 200);
	ASSERT_INT_EQ(c.code_min_length, 250);
	ASSERT_INT_EQ(c.max_document_bytes, 20000000);
	ASSERT_STR_EQ(c.user_agent, "pgkb/0.1 (+https://github.com/pgkb/pgkb)");
	ASSERT_INT_EQ(c.crawl_host_concurrency, 2);
	ASSERT_INT_EQ(c.crawl_host_delay_ms, 250);
	ASSERT_INT_EQ(c.fetch_timeout_ms, 30000);
	ASSERT_INT_EQ(c.fetch_connect_timeout_ms, 10000);
	ASSERT_INT_EQ(c.fetch_max_bytes, 10000000);
	ASSERT_INT_EQ(c.max_redirects, 5);
	ASSERT_TRUE(!c.allow_private_addresses);
	ASSERT_TRUE(c.allow_networks != NULL && c.allow_networks[0] == NULL);
	ASSERT_TRUE(c.crawl_hosts != NULL && c.crawl_hosts[0].host == NULL);
	ASSERT_STR_EQ(c.embed_provider, "builtin");
	ASSERT_STR_EQ(c.embed_model, "pgkb-builtin-v1");
	ASSERT_INT_EQ(c.embed_dimension, 384);
	ASSERT_STR_EQ(c.embed_base_url, "");
	ASSERT_STR_EQ(c.embed_api_key_env, "OPENAI_API_KEY");
	ASSERT_INT_EQ(c.embed_batch_size, 64);
	ASSERT_INT_EQ(c.embed_max_inflight, 4);
	ASSERT_INT_EQ(c.embed_timeout_ms, 60000);
	ASSERT_INT_EQ(c.embed_requests_per_minute, 0);
	ASSERT_INT_EQ(c.embed_tokens_per_minute, 0);
	cfg_free(&c);
	ASSERT_TRUE(c.database_url == NULL && c.ingest_roots == NULL && c.pool_size == 0);
}

TEST(empty_and_comment_only_files_mean_defaults)
{
	static const char *const texts[] = {"", "# only\n  # comments\n", "---\n", "---\n...\n", "queue:\n"};
	char *want = defaults_dump();
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		struct cfg c;
		char *err = NULL;
		ASSERT_INT_EQ(load_yaml(&c, texts[i], no_env, &err), 0);
		ASSERT_TRUE(err == NULL);
		char *got = cfg_dump(&c);
		ASSERT_STR_EQ(got, want);
		free(got);
		cfg_free(&c);
	}
	free(want);
}

static const char full_yaml[] =
	"database:\n"
	"  url: postgres://pgkb@db.example/kb\n"
	"  pool_size: 8\n"
	"  connect_timeout: 2s\n"
	"log: {level: debug, json: yes}\n"
	"workers:\n"
	"  crawl: {processes: 2, concurrency: 64}\n"
	"  ingest:\n"
	"    processes: 3\n"
	"    concurrency: 1\n"
	"  embed: {processes: 0, concurrency: 8}\n"
	"  noop: {processes: 1, concurrency: 10}\n"
	"queue:\n"
	"  batch_size: \"100\"\n"
	"  lease: 2m\n"
	"  poll_interval: 250ms\n"
	"  drain_timeout: 1m30s\n"
	"  history_retention: 30d\n"
	"supervisor:\n"
	"  restart_delay_min: 500ms\n"
	"  restart_delay_max: 5m\n"
	"  metrics_listen: \"[::1]:9187\"\n"
	"ingest:\n"
	"  roots:\n"
	"    - /srv/docs\n"
	"    - /srv/wiki\n"
	"  chunk_size: 2000\n"
	"  chunk_overlap: 1000\n"
	"  code_min_length: 100\n"
	"  max_document_bytes: 64MiB\n"
	"crawl:\n"
	"  user_agent: 'acme-bot/2 (ops@acme.example)'\n"
	"  host_concurrency: 4\n"
	"  host_delay: 1s\n"
	"  timeout: 1m\n"
	"  connect_timeout: 5s\n"
	"  max_bytes: 1GB\n"
	"  max_redirects: 0\n"
	"  allow_private_addresses: true\n"
	"  allow_networks: [10.1.2.3, \"fd00::/8\"]\n"
	"  hosts:\n"
	"    docs.example.com: {concurrency: 8, delay: 50ms}\n"
	"    \"*.internal.example\": {concurrency: 16}\n"
	"embed:\n"
	"  provider: openai\n"
	"  model: text-embedding-3-small\n"
	"  dimension: 1536\n"
	"  base_url: https://api.openai.com\n"
	"  api_key_env: MY_KEY\n"
	"  batch_size: 128\n"
	"  max_inflight: 16\n"
	"  timeout: 2m\n"
	"  requests_per_minute: 3000\n"
	"  tokens_per_minute: 1000000\n";

TEST(full_file_sets_every_field)
{
	struct cfg c;
	char *err = NULL;
	ASSERT_INT_EQ(load_yaml(&c, full_yaml, no_env, &err), 0);
	ASSERT_STR_EQ(c.database_url, "postgres://pgkb@db.example/kb");
	ASSERT_TRUE(!c.database_url_from_env);
	ASSERT_INT_EQ(c.pool_size, 8);
	ASSERT_INT_EQ(c.connect_timeout_ms, 2000);
	ASSERT_INT_EQ(c.log_level, LOG_DEBUG);
	ASSERT_TRUE(c.log_json);
	ASSERT_INT_EQ(c.workers[CFG_WORKER_CRAWL].processes, 2);
	ASSERT_INT_EQ(c.workers[CFG_WORKER_CRAWL].concurrency, 64);
	ASSERT_INT_EQ(c.workers[CFG_WORKER_INGEST].processes, 3);
	ASSERT_INT_EQ(c.workers[CFG_WORKER_INGEST].concurrency, 1);
	ASSERT_INT_EQ(c.workers[CFG_WORKER_EMBED].processes, 0);
	ASSERT_INT_EQ(c.workers[CFG_WORKER_EMBED].concurrency, 8);
	ASSERT_INT_EQ(c.workers[CFG_WORKER_NOOP].processes, 1);
	ASSERT_INT_EQ(c.workers[CFG_WORKER_NOOP].concurrency, 10);
	ASSERT_INT_EQ(c.batch_size, 100);
	ASSERT_INT_EQ(c.lease_ms, 120000);
	ASSERT_INT_EQ(c.poll_interval_ms, 250);
	ASSERT_INT_EQ(c.drain_timeout_ms, 90000);
	ASSERT_INT_EQ(c.history_retention_ms, 30LL * 86400000);
	ASSERT_INT_EQ(c.restart_delay_min_ms, 500);
	ASSERT_INT_EQ(c.restart_delay_max_ms, 300000);
	ASSERT_STR_EQ(c.metrics_listen, "[::1]:9187");
	ASSERT_STR_EQ(c.ingest_roots[0], "/srv/docs");
	ASSERT_STR_EQ(c.ingest_roots[1], "/srv/wiki");
	ASSERT_TRUE(c.ingest_roots[2] == NULL);
	ASSERT_INT_EQ(c.chunk_size, 2000);
	ASSERT_INT_EQ(c.chunk_overlap, 1000);
	ASSERT_INT_EQ(c.code_min_length, 100);
	ASSERT_INT_EQ(c.max_document_bytes, 64LL << 20);
	ASSERT_STR_EQ(c.user_agent, "acme-bot/2 (ops@acme.example)");
	ASSERT_INT_EQ(c.crawl_host_concurrency, 4);
	ASSERT_INT_EQ(c.crawl_host_delay_ms, 1000);
	ASSERT_INT_EQ(c.fetch_timeout_ms, 60000);
	ASSERT_INT_EQ(c.fetch_connect_timeout_ms, 5000);
	ASSERT_INT_EQ(c.fetch_max_bytes, 1000000000);
	ASSERT_INT_EQ(c.max_redirects, 0);
	ASSERT_TRUE(c.allow_private_addresses);
	ASSERT_STR_EQ(c.allow_networks[0], "10.1.2.3");
	ASSERT_STR_EQ(c.allow_networks[1], "fd00::/8");
	ASSERT_TRUE(c.allow_networks[2] == NULL);
	ASSERT_STR_EQ(c.crawl_hosts[0].host, "docs.example.com");
	ASSERT_INT_EQ(c.crawl_hosts[0].concurrency, 8);
	ASSERT_INT_EQ(c.crawl_hosts[0].delay_ms, 50);
	ASSERT_STR_EQ(c.crawl_hosts[1].host, "*.internal.example");
	ASSERT_INT_EQ(c.crawl_hosts[1].concurrency, 16);
	ASSERT_INT_EQ(c.crawl_hosts[1].delay_ms, -1);
	ASSERT_TRUE(c.crawl_hosts[2].host == NULL);
	ASSERT_STR_EQ(c.embed_provider, "openai");
	ASSERT_STR_EQ(c.embed_model, "text-embedding-3-small");
	ASSERT_INT_EQ(c.embed_dimension, 1536);
	ASSERT_STR_EQ(c.embed_base_url, "https://api.openai.com");
	ASSERT_STR_EQ(c.embed_api_key_env, "MY_KEY");
	ASSERT_INT_EQ(c.embed_batch_size, 128);
	ASSERT_INT_EQ(c.embed_max_inflight, 16);
	ASSERT_INT_EQ(c.embed_timeout_ms, 120000);
	ASSERT_INT_EQ(c.embed_requests_per_minute, 3000);
	ASSERT_INT_EQ(c.embed_tokens_per_minute, 1000000);

	/* The dump reads back to the same configuration. */
	char *d1 = cfg_dump(&c), *d2 = NULL;
	struct cfg back;
	ASSERT_INT_EQ(load_yaml(&back, d1, no_env, &err), 0);
	if (!err) {
		d2 = cfg_dump(&back);
		ASSERT_STR_EQ(d2, d1);
		cfg_free(&back);
	}
	free(err);
	free(d1);
	free(d2);
	cfg_free(&c);
}

TEST(example_file_is_valid_and_lists_every_default)
{
	const char *data = getenv("PGKB_TEST_DATA");
	ASSERT_TRUE(data != NULL);
	if (!data)
		return;
	char *path = xasprintf("%s/../../deploy/pgkb.example.yaml", data);
	struct cfg c;
	char *err = NULL;
	ASSERT_INT_EQ(cfg_load(&c, path, no_env, &err), 0);
	if (err)
		TEST_FAIL_AT("example file: %s", err);
	free(err);
	if (c.database_url) {
		char *got = cfg_dump(&c), *want = defaults_dump();
		ASSERT_STR_EQ(got, want); /* the example shows the defaults */
		free(got);
		free(want);
		cfg_free(&c);
	}
	/* Every key is in it: its last component followed by ':'. */
	size_t len;
	char *text = test_read_file(path, &len);
	ASSERT_TRUE(text != NULL);
	for (size_t i = 0; i < cfg_nkeys; i++) {
		char *leaf = xasprintf(" %s:", strrchr(cfg_keys[i].path, '.') + 1);
		ASSERT_STR_CONTAINS(text, leaf);
		free(leaf);
	}
	free(text);
	free(path);
}

TEST(type_and_range_errors_name_file_line_and_key)
{
	ASSERT_YAML_ERROR("# settings\n\nlog:\n  level: info\n\nqueue:\n  batch_size: lots\n", no_env,
	                  "pgkb.yaml:7: queue.batch_size: expected an integer from 1 to 10000, got \"lots\"");
	ASSERT_YAML_ERROR("queue:\n  batch_size: 0\n", no_env,
	                  "pgkb.yaml:2: queue.batch_size: expected an integer from 1 to 10000, got \"0\"");
	ASSERT_YAML_ERROR("queue:\n  batch_size: 10001\n", no_env,
	                  "pgkb.yaml:2: queue.batch_size: expected an integer from 1 to 10000, got \"10001\"");
	ASSERT_YAML_ERROR("queue:\n  lease: 500ms\n", no_env,
	                  "pgkb.yaml:2: queue.lease: expected a duration from 1s to 1d (e.g. 250ms, 30s, 5m, 1h, 7d), "
	                  "got \"500ms\"");
	ASSERT_YAML_ERROR("queue:\n  poll_interval: [1s]\n", no_env,
	                  "pgkb.yaml:2: queue.poll_interval: expected a duration from 10ms to 1h (e.g. 250ms, 30s, 5m, 1h, "
	                  "7d), got a list");
	ASSERT_YAML_ERROR("log:\n  json: maybe\n", no_env, "pgkb.yaml:2: log.json: expected true or false, got \"maybe\"");
	ASSERT_YAML_ERROR("log:\n  level: verbose\n", no_env,
	                  "pgkb.yaml:2: log.level: expected one of error, warn, info, debug, got \"verbose\"");
	ASSERT_YAML_ERROR("embed:\n  dimension: 512\n", no_env,
	                  "pgkb.yaml:2: embed.dimension: expected one of 384, 768, 1024, 1536, 3072, got \"512\"");
	ASSERT_YAML_ERROR("embed:\n  provider: cohere\n", no_env,
	                  "pgkb.yaml:2: embed.provider: expected one of builtin, openai, ollama, got \"cohere\"");
	ASSERT_YAML_ERROR("crawl:\n  max_bytes: 2GiB\n", no_env,
	                  "pgkb.yaml:2: crawl.max_bytes: expected a size from 1KiB to 1GiB (e.g. 512KiB, 10MB, 1GiB), "
	                  "got \"2GiB\"");
	ASSERT_YAML_ERROR("crawl:\n  user_agent: curl\n", no_env,
	                  "pgkb.yaml:2: crawl.user_agent: expected a User-Agent of printable ASCII with a contact URL or "
	                  "e-mail address, got \"curl\"");
	ASSERT_YAML_ERROR("supervisor:\n  metrics_listen: 9187\n", no_env,
	                  "pgkb.yaml:2: supervisor.metrics_listen: expected host:port (e.g. 127.0.0.1:9187 or "
	                  "[::1]:9187), or \"\" for off, got \"9187\"");
	ASSERT_YAML_ERROR("database:\n  url: {host: x}\n", no_env,
	                  "pgkb.yaml:2: database.url: expected a string, got a mapping");
	ASSERT_YAML_ERROR("queue:\n  batch_size: \"5\\0\"\n", no_env,
	                  "pgkb.yaml:2: queue.batch_size: the value contains a NUL character");
	/* Long or odd values are shortened and escaped in the message. */
	ASSERT_YAML_ERROR("log:\n  level: \"a\\tb\"\n", no_env,
	                  "pgkb.yaml:2: log.level: expected one of error, warn, info, debug, got \"a\\x09b\"");
}

TEST(secrets_are_never_echoed_in_errors)
{
	struct cfg c;
	char *err = NULL;
	ASSERT_INT_EQ(load_yaml(&c, "embed:\n  api_key_env: sk-live-1234567890\n", no_env, &err), -1);
	ASSERT_STR_CONTAINS(err, "pgkb.yaml:2: embed.api_key_env: expected the name of an environment variable");
	ASSERT_TRUE(err && !strstr(err, "sk-live"));
	free(err);
	char *const env[] = {"PGKB_EMBED_API_KEY_ENV=sk-live-1234567890", NULL};
	ASSERT_INT_EQ(cfg_load(&c, NULL, env, &err), -1);
	ASSERT_STR_CONTAINS(err, "PGKB_EMBED_API_KEY_ENV: embed.api_key_env: expected");
	ASSERT_TRUE(err && !strstr(err, "sk-live"));
	free(err);
}

TEST(structure_errors)
{
	ASSERT_YAML_ERROR("log:\n  level: info\nworker:\n  crawl: 1\n", no_env,
	                  "pgkb.yaml:3: unknown key \"worker\" (in the top level); did you mean \"workers\"?");
	ASSERT_YAML_ERROR("queue:\n  batchsize: 5\n", no_env,
	                  "pgkb.yaml:2: unknown key \"batchsize\" (in queue); did you mean \"batch_size\"?");
	ASSERT_YAML_ERROR("workers:\n  crawl:\n    procs: 5\n", no_env,
	                  "pgkb.yaml:3: unknown key \"procs\" (in workers.crawl)");
	ASSERT_YAML_ERROR("batch_size: 5\n", no_env,
	                  "pgkb.yaml:1: unknown key \"batch_size\" (in the top level); "
	                  "did you mean \"queue.batch_size\" or \"embed.batch_size\"?");
	ASSERT_YAML_ERROR("queue.batch_size: 5\n", no_env,
	                  "pgkb.yaml:1: unknown key \"queue.batch_size\" (in the top level); "
	                  "dotted keys are not supported, nest them instead");
	ASSERT_YAML_ERROR("queue:\n  lease: 5s\n  batch_size: 1\n  lease: 6s\n", no_env,
	                  "pgkb.yaml:4: duplicate key \"queue.lease\" (first on line 2)");
	ASSERT_YAML_ERROR("queue:\n  lease: 5s\nlog: {}\nqueue:\n  batch_size: 1\n", no_env,
	                  "pgkb.yaml:4: duplicate key \"queue\" (first on line 1)");
	ASSERT_YAML_ERROR("queue: 5\n", no_env, "pgkb.yaml:1: queue: expected a mapping, got \"5\"");
	ASSERT_YAML_ERROR("workers:\n  crawl: [1, 2]\n", no_env,
	                  "pgkb.yaml:2: workers.crawl: expected a mapping, got a list");
	ASSERT_YAML_ERROR("- queue\n", no_env,
	                  "pgkb.yaml:1: the top level: expected a mapping of sections (database:, queue:, ...), "
	                  "got a list");
	ASSERT_YAML_ERROR("queue:\n  lease: &l 5s\n  drain_timeout: *l\n", no_env,
	                  "pgkb.yaml:3: YAML aliases (*name) are not supported");
	ASSERT_YAML_ERROR("log: {}\n---\nlog: {}\n", no_env, "pgkb.yaml:2: only one YAML document is allowed");
	ASSERT_YAML_ERROR("? [a, b]\n: 1\n", no_env, "pgkb.yaml:1: a key (in the top level) must be a plain name");
}

TEST(yaml_syntax_errors_name_the_line)
{
	struct cfg c;
	char *err = NULL;
	ASSERT_INT_EQ(load_yaml(&c, "queue:\n  lease: 5s\n bad: : x\n", no_env, &err), -1);
	ASSERT_STR_CONTAINS(err, "pgkb.yaml:3: invalid YAML: ");
	free(err);
	ASSERT_INT_EQ(load_yaml(&c, "log:\n  level: \"info\n", no_env, &err), -1);
	ASSERT_STR_CONTAINS(err, "pgkb.yaml:");
	ASSERT_STR_CONTAINS(err, "invalid YAML: found unexpected end of stream");
	free(err);
	ASSERT_INT_EQ(load_yaml(&c, "log:\n\tlevel: info\n", no_env, &err), -1);
	ASSERT_STR_CONTAINS(err, "pgkb.yaml:2: invalid YAML: ");
	free(err);
	ASSERT_INT_EQ(load_yaml(&c, "log:\n  level: info\n  json: \"\xff\"\n", no_env, &err), -1);
	ASSERT_STR_EQ(err, "pgkb.yaml:3: invalid YAML: invalid leading UTF-8 octet");
	free(err);
}

TEST(missing_or_unreadable_file_is_an_error)
{
	struct cfg c;
	char *err = NULL;
	ASSERT_INT_EQ(cfg_load(&c, "/nonexistent/pgkb.yaml", no_env, &err), -1);
	ASSERT_STR_EQ(err, "/nonexistent/pgkb.yaml: cannot open: No such file or directory");
	ASSERT_TRUE(c.database_url == NULL);
	free(err);
	ASSERT_INT_EQ(cfg_load(&c, "/tmp", no_env, &err), -1);
	ASSERT_STR_EQ(err, "/tmp: is a directory, not a configuration file");
	free(err);
}

TEST(environment_overrides_every_type)
{
	char *const env[] = {
		"PATH=/usr/bin",
		"PGKB_QUEUE_BATCH_SIZE=75",                 /* int, over the file's value */
		"PGKB_LOG_JSON=TRUE",                       /* bool */
		"PGKB_QUEUE_LEASE=90s",                     /* duration */
		"PGKB_CRAWL_MAX_BYTES=512KiB",              /* bytes */
		"PGKB_CRAWL_USER_AGENT=bot (+https://x.example)", /* string */
		"PGKB_INGEST_ROOTS=/a::/b/c:",              /* list; empty items skipped */
		"PGKB_LOG_LEVEL=warn",                      /* enum stored as an int */
		"PGKB_EMBED_PROVIDER=Ollama",               /* enum stored as a string, canonicalised */
		"PGKB_EMBED_BASE_URL=http://localhost:11434",
		"PGKB_WORKERS_CRAWL_PROCESSES=2",
		"PGKB_EMBED_DIMENSION=768",
		"PGKB_CRAWL_ALLOW_NETWORKS= 127.0.0.0/8, ::1/128,,", /* list with commas: IPv6 has colons */
		"PGKB_CRAWL_HOSTS={a.example: {delay: 2s}}",        /* crawl.hosts: YAML */
		"PGKB_BIN_DIR=/opt/pgkb/bin",               /* unknown PGKB_ variables are ignored */
		"PGKB_QUEUE_BATCHSIZE=oops",
		"PGKB_QUEUE_BATCH_SIZE=1",                  /* a second one is ignored, as getenv would */
		NULL,
	};
	struct cfg c;
	char *err = NULL;
	ASSERT_INT_EQ(load_yaml(&c, "queue:\n  batch_size: 10\n  lease: 5s\ningest:\n  roots: [/x]\n", env, &err), 0);
	ASSERT_TRUE(err == NULL);
	ASSERT_INT_EQ(c.batch_size, 75);
	ASSERT_TRUE(c.log_json);
	ASSERT_INT_EQ(c.lease_ms, 90000);
	ASSERT_INT_EQ(c.fetch_max_bytes, 512 * 1024);
	ASSERT_STR_EQ(c.user_agent, "bot (+https://x.example)");
	ASSERT_STR_EQ(c.ingest_roots[0], "/a");
	ASSERT_STR_EQ(c.ingest_roots[1], "/b/c");
	ASSERT_TRUE(c.ingest_roots[2] == NULL);
	ASSERT_INT_EQ(c.log_level, LOG_WARN);
	ASSERT_STR_EQ(c.embed_provider, "ollama");
	ASSERT_INT_EQ(c.workers[CFG_WORKER_CRAWL].processes, 2);
	ASSERT_INT_EQ(c.embed_dimension, 768);
	ASSERT_STR_EQ(c.allow_networks[0], "127.0.0.0/8");
	ASSERT_STR_EQ(c.allow_networks[1], "::1/128");
	ASSERT_TRUE(c.allow_networks[2] == NULL);
	ASSERT_STR_EQ(c.crawl_hosts[0].host, "a.example");
	ASSERT_INT_EQ(c.crawl_hosts[0].delay_ms, 2000);
	ASSERT_TRUE(c.crawl_hosts[1].host == NULL);
	cfg_free(&c);

	char *const empty_list[] = {"PGKB_INGEST_ROOTS=", NULL};
	ASSERT_INT_EQ(load_yaml(&c, "ingest:\n  roots: [/x]\n", empty_list, &err), 0);
	ASSERT_TRUE(c.ingest_roots && c.ingest_roots[0] == NULL);
	cfg_free(&c);
}

TEST(bad_environment_values_name_the_variable)
{
	struct cfg c;
	char *err = NULL;
	char *const e1[] = {"PGKB_QUEUE_BATCH_SIZE=lots", NULL};
	ASSERT_INT_EQ(cfg_load(&c, NULL, e1, &err), -1);
	ASSERT_STR_EQ(err, "PGKB_QUEUE_BATCH_SIZE: queue.batch_size: expected an integer from 1 to 10000, got \"lots\"");
	ASSERT_TRUE(c.database_url == NULL);
	free(err);
	char *const e2[] = {"PGKB_INGEST_ROOTS=/ok:relative/dir", NULL};
	ASSERT_INT_EQ(cfg_load(&c, NULL, e2, &err), -1);
	ASSERT_STR_EQ(err, "PGKB_INGEST_ROOTS: ingest.roots: expected an absolute path, got \"relative/dir\"");
	free(err);
	char *const e3[] = {"PGKB_LOG_JSON=", NULL};
	ASSERT_INT_EQ(cfg_load(&c, NULL, e3, &err), -1);
	ASSERT_STR_EQ(err, "PGKB_LOG_JSON: log.json: expected true or false, got \"\"");
	free(err);
	char *const e4[] = {"PGKB_CRAWL_USER_AGENT=bot (+https://x)\r\nX-Evil: 1", NULL};
	ASSERT_INT_EQ(cfg_load(&c, NULL, e4, &err), -1);
	ASSERT_STR_CONTAINS(err, "got \"bot (+https://x)\\x0d\\x0aX-Evil: 1\"");
	free(err);
}

TEST(database_url_precedence)
{
	const char *file = "database:\n  url: postgres://file/db\n";
	struct cfg c;
	char *err = NULL;
	ASSERT_INT_EQ(load_yaml(&c, file, no_env, &err), 0);
	ASSERT_STR_EQ(c.database_url, "postgres://file/db");
	ASSERT_TRUE(!c.database_url_from_env);
	cfg_free(&c);

	char *const e1[] = {"PGKB_DATABASE_URL=postgres://pgkb-env/db", NULL};
	ASSERT_INT_EQ(load_yaml(&c, file, e1, &err), 0);
	ASSERT_STR_EQ(c.database_url, "postgres://pgkb-env/db");
	ASSERT_TRUE(c.database_url_from_env);
	cfg_free(&c);

	char *const e2[] = {"DATABASE_URL=postgres://plain-env/db", "PGKB_DATABASE_URL=postgres://pgkb-env/db", NULL};
	ASSERT_INT_EQ(load_yaml(&c, file, e2, &err), 0);
	ASSERT_STR_EQ(c.database_url, "postgres://plain-env/db");
	ASSERT_TRUE(c.database_url_from_env);
	cfg_free(&c);

	char *const e3[] = {"DATABASE_URL=", NULL}; /* set but empty: no override */
	ASSERT_INT_EQ(load_yaml(&c, file, e3, &err), 0);
	ASSERT_STR_EQ(c.database_url, "postgres://file/db");
	ASSERT_TRUE(!c.database_url_from_env);
	cfg_free(&c);
}

TEST(list_type_in_the_file)
{
	struct cfg c;
	char *err = NULL;
	ASSERT_INT_EQ(load_yaml(&c, "ingest:\n  roots: [/a, '/b c']\n", no_env, &err), 0);
	ASSERT_STR_EQ(c.ingest_roots[0], "/a");
	ASSERT_STR_EQ(c.ingest_roots[1], "/b c");
	ASSERT_TRUE(c.ingest_roots[2] == NULL);
	cfg_free(&c);
	ASSERT_INT_EQ(load_yaml(&c, "ingest:\n  roots:\n", no_env, &err), 0);
	ASSERT_TRUE(c.ingest_roots && c.ingest_roots[0] == NULL);
	cfg_free(&c);
	ASSERT_YAML_ERROR("ingest:\n  roots:\n    - /a\n    - docs\n", no_env,
	                  "pgkb.yaml:4: ingest.roots[1]: expected an absolute path, got \"docs\"");
	ASSERT_YAML_ERROR("ingest:\n  roots:\n    - [/a]\n", no_env,
	                  "pgkb.yaml:3: ingest.roots[0]: expected a string, got a list");
	ASSERT_YAML_ERROR("ingest:\n  roots: /a\n", no_env,
	                  "pgkb.yaml:2: ingest.roots: expected a list of strings (each an absolute path), got \"/a\"");
}

TEST(cross_field_checks_run_after_all_sources)
{
	ASSERT_YAML_ERROR("ingest:\n  chunk_size: 1000\n  chunk_overlap: 600\n", no_env,
	                  "pgkb.yaml:3: ingest.chunk_overlap: must be at most half of ingest.chunk_size (1000), got 600");
	char *const shrink[] = {"PGKB_INGEST_CHUNK_SIZE=1000", NULL};
	ASSERT_YAML_ERROR("ingest:\n  chunk_overlap: 550\n", shrink,
	                  "PGKB_INGEST_CHUNK_SIZE: ingest.chunk_overlap: must be at most half of ingest.chunk_size "
	                  "(1000), got 550");
	/* Valid only because the environment raises chunk_size after the file. */
	char *const grow[] = {"PGKB_INGEST_CHUNK_SIZE=2000", NULL};
	struct cfg c;
	char *err = NULL;
	ASSERT_INT_EQ(load_yaml(&c, "ingest:\n  chunk_overlap: 900\n", grow, &err), 0);
	ASSERT_INT_EQ(c.chunk_overlap, 900);
	cfg_free(&c);

	ASSERT_YAML_ERROR("supervisor:\n  restart_delay_max: 500ms\n", no_env,
	                  "pgkb.yaml:2: supervisor.restart_delay_min (1s) must not exceed supervisor.restart_delay_max "
	                  "(500ms)");
	ASSERT_YAML_ERROR("crawl:\n  timeout: 5s\n", no_env,
	                  "pgkb.yaml:2: crawl.connect_timeout (10s) must not exceed crawl.timeout (5s)");
	ASSERT_YAML_ERROR("\nembed:\n  provider: openai\n", no_env,
	                  "pgkb.yaml:3: embed.base_url: must be set when embed.provider is openai (e.g. "
	                  "https://api.openai.com)");
	char *const ollama[] = {"PGKB_EMBED_PROVIDER=ollama", NULL};
	ASSERT_YAML_ERROR("", ollama,
	                  "PGKB_EMBED_PROVIDER: embed.base_url: must be set when embed.provider is ollama (e.g. "
	                  "http://localhost:11434)");
}

TEST(duration_parsing)
{
	static const struct {
		const char *s;
		int64_t ms;
	} ok[] = {
		{"250ms", 250}, {"30s", 30000}, {"5m", 300000}, {"1h", 3600000}, {"7d", 604800000}, {"0", 0},
		{"30", 30000}, {"0ms", 0}, {"1h30m", 5400000}, {"2s500ms", 2500}, {"1d1h1m1s1ms", 90061001},
		{"007s", 7000}, {"9223372036854775807ms", INT64_MAX}, {"106751991167d", 106751991167LL * 86400000},
		{"9223372036854775s", 9223372036854775000LL},
	};
	static const char *const bad[] = {
		"", "-1s", "-5", "+5", "1.5s", "5x", "s", "ms", "1s1s", "5m1h", "1ms1s", "1 s", " 1s", "1s ", "1S", "1H",
		"9223372036854775808ms", "106751991168d", "9223372036854776s", "99999999999999999999", "1h30",
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int64_t v = -1;
		ASSERT_INT_EQ(duration_parse(ok[i].s, &v), 0);
		ASSERT_INT_EQ(v, ok[i].ms);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t v = 42;
		if (duration_parse(bad[i], &v) != -1)
			TEST_FAIL_AT("duration_parse(\"%s\") accepted", bad[i]);
		ASSERT_INT_EQ(v, 42);
	}
	ASSERT_INT_EQ(duration_parse(NULL, &(int64_t){0}), -1);
}

TEST(duration_formatting_round_trips)
{
	char out[DURATION_FMT_MAX];
	ASSERT_STR_EQ(duration_format(0, out), "0s");
	ASSERT_STR_EQ(duration_format(250, out), "250ms");
	ASSERT_STR_EQ(duration_format(30000, out), "30s");
	ASSERT_STR_EQ(duration_format(90000, out), "1m30s");
	ASSERT_STR_EQ(duration_format(604800000, out), "7d");
	ASSERT_STR_EQ(duration_format(-1500, out), "-1s500ms");
	ASSERT_STR_EQ(duration_format(INT64_MIN, out), "-106751991167d7h12m55s808ms");
	static const int64_t vals[] = {1, 999, 1000, 61001, 86399999, 90061001, INT64_MAX};
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		int64_t back = -1;
		ASSERT_INT_EQ(duration_parse(duration_format(vals[i], out), &back), 0);
		ASSERT_INT_EQ(back, vals[i]);
	}
}

TEST(byte_size_parsing_and_formatting)
{
	static const struct {
		const char *s;
		int64_t n;
	} ok[] = {
		{"0", 0}, {"100", 100}, {"100B", 100}, {"10MB", 10000000}, {"10mb", 10000000}, {"10 MB", 10000000},
		{"512KiB", 524288}, {"1kB", 1000}, {"1KB", 1000}, {"1GB", 1000000000}, {"1GiB", 1073741824},
		{"2TiB", 2LL << 40}, {"3tb", 3000000000000LL}, {"9223372036854775807", INT64_MAX},
	};
	static const char *const bad[] = {"", "-1", "+1", "10 ", " 10", "10XB", "1.5MB", "MB", "10  MB", "10M", "1k",
	                                  "9223372036854775808", "9007199254740992KiB", "10MBs"};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int64_t v = -1;
		ASSERT_INT_EQ(cfg_bytes_parse(ok[i].s, &v), 0);
		ASSERT_INT_EQ(v, ok[i].n);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t v = 42;
		if (cfg_bytes_parse(bad[i], &v) != -1)
			TEST_FAIL_AT("cfg_bytes_parse(\"%s\") accepted", bad[i]);
		ASSERT_INT_EQ(v, 42);
	}
	char out[32];
	ASSERT_STR_EQ(cfg_bytes_format(20000000, out, sizeof out), "20MB");
	ASSERT_STR_EQ(cfg_bytes_format(524288, out, sizeof out), "512KiB");
	ASSERT_STR_EQ(cfg_bytes_format(1LL << 30, out, sizeof out), "1GiB");
	ASSERT_STR_EQ(cfg_bytes_format(1000, out, sizeof out), "1kB");
	ASSERT_STR_EQ(cfg_bytes_format(1023, out, sizeof out), "1023");
	ASSERT_STR_EQ(cfg_bytes_format(0, out, sizeof out), "0");
}

TEST(conninfo_passwords_are_masked)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"postgres://user:secret@host:5432/db", "postgres://user:****@host:5432/db"},
		{"postgresql://user:s%40cr:et@h1,h2/db?sslmode=require", "postgresql://user:****@h1,h2/db?sslmode=require"},
		{"postgres://user:p@ss@host/db", "postgres://user:****@host/db"},
		{"postgres://user@host/db?password=secret&application_name=x",
		 "postgres://user@host/db?password=****&application_name=x"},
		{"postgres://host/db?pass%77ord=secret", "postgres://host/db?pass%77ord=****"},
		{"postgres://host/db", "postgres://host/db"},
		{"host=db user=kb password=secret dbname=kb", "host=db user=kb password=**** dbname=kb"},
		{"host=db password = 'se cr\\'et' port=5", "host=db password=**** port=5"},
		{"password=sec\\ ret host=x", "password=**** host=x"},
		{"host=db password='unterminated secret", "host=db password=****"},
		{"host=db garbage secret", "host=db ****"},
		{"", ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *got = cfg_mask_conninfo(cases[i].in);
		ASSERT_STR_EQ(got, cases[i].want);
		free(got);
	}
}

TEST(dump_masks_the_database_password)
{
	char *const env[] = {"DATABASE_URL=postgres://kb:hunter2@db/kb", NULL};
	struct cfg c;
	char *err = NULL;
	ASSERT_INT_EQ(cfg_load(&c, NULL, env, &err), 0);
	char *d = cfg_dump(&c);
	ASSERT_STR_CONTAINS(d, "database:\n  connect_timeout: 5s\n  idle_in_transaction_timeout: 1m\n  lock_timeout: 10s\n"
	                       "  pool_size: 4\n  statement_timeout: 1m\n  url: \"postgres://kb:****@db/kb\"\n");
	ASSERT_STR_CONTAINS(d, "workers:\n  crawl:\n    concurrency: 32\n    processes: 1\n  embed:\n");
	ASSERT_STR_CONTAINS(d, "  roots: []\n");
	ASSERT_TRUE(d && !strstr(d, "hunter2"));
	free(d);
	cfg_free(&c);
	char *const kv[] = {"PGKB_DATABASE_URL=host=db password=hunter2", NULL};
	ASSERT_INT_EQ(cfg_load(&c, NULL, kv, &err), 0);
	d = cfg_dump(&c);
	ASSERT_STR_CONTAINS(d, "  url: \"host=db password=****\"\n");
	ASSERT_TRUE(d && !strstr(d, "hunter2"));
	free(d);
	cfg_free(&c);
}

TEST(load_string_entry_point)
{
	struct cfg c;
	char *err = NULL;
	const char text[] = "queue:\n  batch_size: 7\n";
	ASSERT_INT_EQ(cfg_load_string(&c, "inline.yaml", text, sizeof text - 1, no_env, &err), 0);
	ASSERT_INT_EQ(c.batch_size, 7);
	cfg_free(&c);
	ASSERT_INT_EQ(cfg_load_string(&c, NULL, "queue: {batch_size: x}", 22, no_env, &err), -1);
	ASSERT_STR_EQ(err, "<string>:1: queue.batch_size: expected an integer from 1 to 10000, got \"x\"");
	free(err);
	/* Only len bytes are read: the text need not be NUL-terminated. */
	ASSERT_INT_EQ(cfg_load_string(&c, "t", "log: {json: true}GARBAGE", 17, no_env, &err), 0);
	ASSERT_TRUE(c.log_json);
	cfg_free(&c);
}

/* ---- crawl.allow_networks ---- */

TEST(allow_networks_are_checked_at_load)
{
	struct cfg c;
	char *err = NULL;
	ASSERT_INT_EQ(load_yaml(&c,
	                        "crawl:\n  allow_networks:\n    - 127.0.0.0/8\n    - \"::1/128\"\n    - 10.1.2.3\n"
	                        "    - \"[fd00::]/8\"\n    - 0.0.0.0/0\n",
	                        no_env, &err),
	              0);
	ASSERT_STR_EQ(c.allow_networks[0], "127.0.0.0/8");
	ASSERT_STR_EQ(c.allow_networks[3], "[fd00::]/8");
	ASSERT_TRUE(c.allow_networks[5] == NULL);
	cfg_free(&c);
	ASSERT_YAML_ERROR("crawl:\n  allow_networks: [127.0.0.0/8, 10.1.2.3/8]\n", no_env,
	                  "pgkb.yaml:2: crawl.allow_networks[1]: expected an IP address or a network in CIDR form with no "
	                  "host bits set (127.0.0.0/8, ::1/128, 10.1.2.3), got \"10.1.2.3/8\"");
	ASSERT_YAML_ERROR("crawl:\n  allow_networks:\n    - intranet.example\n", no_env,
	                  "pgkb.yaml:3: crawl.allow_networks[0]: expected an IP address or a network in CIDR form with no "
	                  "host bits set (127.0.0.0/8, ::1/128, 10.1.2.3), got \"intranet.example\"");
	ASSERT_YAML_ERROR("crawl:\n  allow_networks: 10.0.0.0/8\n", no_env,
	                  "pgkb.yaml:2: crawl.allow_networks: expected a list of strings (each an IP address or a network "
	                  "in CIDR form with no host bits set (127.0.0.0/8, ::1/128, 10.1.2.3)), got \"10.0.0.0/8\"");
	char *const bad[] = {"PGKB_CRAWL_ALLOW_NETWORKS=10.0.0.0/8,::1/200", NULL};
	ASSERT_INT_EQ(cfg_load(&c, NULL, bad, &err), -1);
	ASSERT_STR_CONTAINS(err, "PGKB_CRAWL_ALLOW_NETWORKS: crawl.allow_networks: expected an IP address");
	ASSERT_STR_CONTAINS(err, "got \"::1/200\"");
	free(err);
}

/* ---- crawl.hosts ---- */

static const char hosts_yaml[] =
	"crawl:\n"
	"  host_concurrency: 2\n"
	"  host_delay: 250ms\n"
	"  hosts:\n"
	"    Docs.Example.COM: {concurrency: 8, delay: 50ms}\n"
	"    \"127.0.0.1:8080\": {delay: 0ms}\n"
	"    \"*.internal.example\": {concurrency: 16}\n"
	"    \"*.deep.internal.example\": {delay: 2s}\n"
	"    exact.internal.example:\n"
	"      delay: 1s\n"
	"    \"[::1]:9000\":\n"
	"    bare.example: {}\n";

/* Asserts what cfg_host_politeness gives for host. */
static void politeness(const struct cfg *c, const char *host, int conc, int64_t delay)
{
	int got_c = -7;
	int64_t got_d = -7;
	cfg_host_politeness(c, host, &got_c, &got_d);
	if (got_c != conc || got_d != delay)
		TEST_FAIL_AT("%s: got concurrency %d, delay %lld; expected %d, %lld", host ? host : "(null)", got_c,
		             (long long)got_d, conc, (long long)delay);
	test_checks++;
}

TEST(crawl_hosts_parse_and_inherit)
{
	struct cfg c;
	char *err = NULL;
	ASSERT_INT_EQ(load_yaml(&c, hosts_yaml, no_env, &err), 0);
	ASSERT_TRUE(err == NULL);
	ASSERT_STR_EQ(c.crawl_hosts[0].host, "docs.example.com"); /* stored as url_host() writes it */
	ASSERT_STR_EQ(c.crawl_hosts[5].host, "[::1]:9000");
	ASSERT_INT_EQ(c.crawl_hosts[5].concurrency, 0);
	ASSERT_INT_EQ(c.crawl_hosts[5].delay_ms, -1);
	ASSERT_TRUE(c.crawl_hosts[7].host == NULL);
	politeness(&c, "docs.example.com", 8, 50);
	politeness(&c, "DOCS.example.com", 8, 50); /* ASCII case ignored */
	politeness(&c, "127.0.0.1:8080", 2, 0);    /* concurrency inherited */
	politeness(&c, "127.0.0.1", 2, 250);       /* another port is another host */
	politeness(&c, "[::1]:9000", 2, 250);      /* listed with nothing: everything inherited */
	politeness(&c, "bare.example", 2, 250);
	politeness(&c, "other.example", 2, 250);
	politeness(&c, NULL, 2, 250);
	ASSERT_INT_EQ(cfg_host_concurrency_max(&c), 16);
	int only_c = 0;
	cfg_host_politeness(&c, "docs.example.com", &only_c, NULL); /* either output may be NULL */
	ASSERT_INT_EQ(only_c, 8);
	cfg_free(&c);
	ASSERT_TRUE(c.crawl_hosts == NULL);

	/* Inheritance happens at lookup: globals from the environment apply to entries from the file. */
	char *const env[] = {"PGKB_CRAWL_HOST_DELAY=3s", "PGKB_CRAWL_HOST_CONCURRENCY=5", NULL};
	ASSERT_INT_EQ(load_yaml(&c, hosts_yaml, env, &err), 0);
	politeness(&c, "127.0.0.1:8080", 5, 0);
	politeness(&c, "a.internal.example", 16, 3000);
	ASSERT_INT_EQ(cfg_host_concurrency_max(&c), 16);
	cfg_free(&c);

	ASSERT_INT_EQ(load_yaml(&c, "crawl:\n  host_concurrency: 20\n  hosts:\n", no_env, &err), 0);
	ASSERT_TRUE(c.crawl_hosts != NULL && c.crawl_hosts[0].host == NULL);
	ASSERT_INT_EQ(cfg_host_concurrency_max(&c), 20);
	politeness(&c, "docs.example.com", 20, 250);
	cfg_free(&c);
}

TEST(crawl_hosts_wildcards_and_precedence)
{
	struct cfg c;
	char *err = NULL;
	ASSERT_INT_EQ(load_yaml(&c, hosts_yaml, no_env, &err), 0);
	politeness(&c, "a.internal.example", 16, 250);
	politeness(&c, "a.b.internal.example", 16, 250);        /* any depth */
	politeness(&c, "internal.example", 2, 250);             /* not the bare domain */
	politeness(&c, "xinternal.example", 2, 250);            /* a label boundary, not a string suffix */
	politeness(&c, "a.internal.example:8080", 2, 250);      /* the port is part of the key */
	politeness(&c, "x.deep.internal.example", 2, 2000);     /* the longest wildcard wins, fields not merged */
	politeness(&c, "deep.internal.example", 16, 250);       /* ... and only below its own domain */
	politeness(&c, "exact.internal.example", 2, 1000);      /* an exact host beats every wildcard */
	politeness(&c, "x.exact.internal.example", 16, 250);
	cfg_free(&c);

	/* Order in the file does not matter. */
	ASSERT_INT_EQ(load_yaml(&c,
	                        "crawl:\n  hosts:\n    \"*.deep.example\": {delay: 2s}\n    a.deep.example: {delay: 3s}\n"
	                        "    \"*.example\": {delay: 1s}\n",
	                        no_env, &err),
	              0);
	politeness(&c, "a.deep.example", 2, 3000);
	politeness(&c, "b.deep.example", 2, 2000);
	politeness(&c, "b.example", 2, 1000);
	cfg_free(&c);
}

TEST(crawl_hosts_dump_reads_back)
{
	struct cfg c, back;
	char *err = NULL;
	ASSERT_INT_EQ(load_yaml(&c, hosts_yaml, no_env, &err), 0);
	char *d1 = cfg_dump(&c);
	ASSERT_STR_CONTAINS(d1, "  hosts:\n"
	                        "    \"docs.example.com\": {concurrency: 8, delay: 50ms}\n"
	                        "    \"127.0.0.1:8080\": {delay: 0s}\n"
	                        "    \"*.internal.example\": {concurrency: 16}\n"
	                        "    \"*.deep.internal.example\": {delay: 2s}\n"
	                        "    \"exact.internal.example\": {delay: 1s}\n"
	                        "    \"[::1]:9000\": {}\n"
	                        "    \"bare.example\": {}\n"
	                        "  low_speed_limit:"); /* the key after hosts */
	ASSERT_INT_EQ(load_yaml(&back, d1, no_env, &err), 0);
	char *d2 = cfg_dump(&back);
	ASSERT_STR_EQ(d2, d1);
	free(d1);
	free(d2);
	cfg_free(&back);
	cfg_free(&c);
	char *def = defaults_dump();
	ASSERT_STR_CONTAINS(def, "  hosts: {}\n");
	ASSERT_STR_CONTAINS(def, "  allow_networks: []\n");
	free(def);
}

TEST(crawl_hosts_errors_name_the_key_path)
{
	ASSERT_YAML_ERROR("crawl:\n  hosts:\n    docs.example.com: {delay: 2h}\n", no_env,
	                  "pgkb.yaml:3: crawl.hosts.\"docs.example.com\".delay: expected a duration from 0s to 1h (e.g. "
	                  "250ms, 30s, 5m, 1h, 7d), got \"2h\"");
	ASSERT_YAML_ERROR("crawl:\n  hosts:\n    docs.example.com:\n      concurrency: 0\n", no_env,
	                  "pgkb.yaml:4: crawl.hosts.\"docs.example.com\".concurrency: expected an integer from 1 to 64, "
	                  "got \"0\"");
	ASSERT_YAML_ERROR("crawl:\n  hosts:\n    docs.example.com: {concurrency: 65}\n", no_env,
	                  "pgkb.yaml:3: crawl.hosts.\"docs.example.com\".concurrency: expected an integer from 1 to 64, "
	                  "got \"65\"");
	ASSERT_YAML_ERROR("crawl:\n  hosts:\n    a.example: {delay: -1s}\n", no_env,
	                  "pgkb.yaml:3: crawl.hosts.\"a.example\".delay: expected a duration from 0s to 1h (e.g. 250ms, "
	                  "30s, 5m, 1h, 7d), got \"-1s\"");
	ASSERT_YAML_ERROR("crawl:\n  hosts:\n    a.example: {delay: [1s]}\n", no_env,
	                  "pgkb.yaml:3: crawl.hosts.\"a.example\".delay: expected a duration from 0s to 1h (e.g. 250ms, "
	                  "30s, 5m, 1h, 7d), got a list");
	ASSERT_YAML_ERROR("crawl:\n  hosts:\n    a.example: {conc: 6}\n", no_env,
	                  "pgkb.yaml:3: crawl.hosts.\"a.example\": unknown key \"conc\" (expected concurrency or delay)");
	ASSERT_YAML_ERROR("crawl:\n  hosts:\n    a.example:\n      delay: 1s\n      delay: 2s\n", no_env,
	                  "pgkb.yaml:5: crawl.hosts.\"a.example\".delay: duplicate key");
	ASSERT_YAML_ERROR("crawl:\n  hosts:\n    a.example: 5\n", no_env,
	                  "pgkb.yaml:3: crawl.hosts.\"a.example\": expected a mapping with concurrency and/or delay, "
	                  "got \"5\"");
	ASSERT_YAML_ERROR("crawl:\n  hosts: [a.example]\n", no_env,
	                  "pgkb.yaml:2: crawl.hosts: expected a mapping of host names to {concurrency: N, delay: D}, got a "
	                  "list");
	ASSERT_YAML_ERROR("crawl:\n  hosts:\n    a.example: {}\n    A.Example: {}\n", no_env,
	                  "pgkb.yaml:4: crawl.hosts.\"A.Example\": duplicate host (first on line 3)");
	ASSERT_YAML_ERROR("crawl:\n  hosts:\n    \"[::1]:9000\": {}\n    \"[0::1]:9000\": {}\n", no_env,
	                  "pgkb.yaml:4: crawl.hosts.\"[0::1]:9000\": duplicate host (first on line 3)");
	ASSERT_YAML_ERROR("crawl:\n  hosts:\n    \"example.com:443\": {}\n", no_env,
	                  "pgkb.yaml:3: crawl.hosts.\"example.com:443\": expected a host without the default port 80 or "
	                  "443 (URLs leave it out: write docs.example.com)");
	static const char *const bad_hosts[] = {
		"https://example.com/", "example.com/docs", "::1", "*.", "*", "a.*.example", "user@example.com",
		"example.com:0", "example.com:65536", "example.com:", "example.com:x", "[::1", "*.[::1]", "",
		"a b.example", "example.com:8080:1",
	};
	for (size_t i = 0; i < sizeof bad_hosts / sizeof bad_hosts[0]; i++) {
		char *q = cfg_quote(bad_hosts[i]);
		char *text = xasprintf("crawl:\n  hosts:\n    %s: {}\n", q);
		char *want = xasprintf("pgkb.yaml:3: crawl.hosts.%s: expected a host as in URLs (docs.example.com, "
		                       "127.0.0.1:8080, [::1]:8080) or \"*.\" and a domain (*.example.com)", q);
		ASSERT_YAML_ERROR(text, no_env, want);
		free(q);
		free(text);
		free(want);
	}
	/* An unquoted wildcard is a YAML alias: the message says to quote it. */
	ASSERT_YAML_ERROR("crawl:\n  hosts:\n    *.example.com: {}\n", no_env,
	                  "pgkb.yaml:3: invalid YAML: did not find expected alphabetic or numeric character (while "
	                  "scanning an alias); quote a value that starts with '*', such as \"*.example.com\"");
}

TEST(crawl_hosts_from_the_environment)
{
	struct cfg c;
	char *err = NULL;
	char *const env[] = {"PGKB_CRAWL_HOSTS={\"*.b.example\": {concurrency: 3}, a.example: {delay: 2s}}", NULL};
	ASSERT_INT_EQ(load_yaml(&c, "crawl:\n  hosts:\n    file.example: {delay: 9s}\n", env, &err), 0);
	politeness(&c, "x.b.example", 3, 250);
	politeness(&c, "a.example", 2, 2000);
	politeness(&c, "file.example", 2, 250); /* the environment replaces the file's mapping */
	cfg_free(&c);
	char *const blank[] = {"PGKB_CRAWL_HOSTS= ", NULL};
	ASSERT_INT_EQ(load_yaml(&c, "crawl:\n  hosts:\n    file.example: {delay: 9s}\n", blank, &err), 0);
	ASSERT_TRUE(c.crawl_hosts[0].host == NULL);
	cfg_free(&c);
	static const struct {
		const char *env, *want;
	} bad[] = {
		{"PGKB_CRAWL_HOSTS={a.example: {delay: 2h}}",
		 "PGKB_CRAWL_HOSTS: crawl.hosts.\"a.example\".delay: expected a duration from 0s to 1h (e.g. 250ms, 30s, "
		 "5m, 1h, 7d), got \"2h\""},
		{"PGKB_CRAWL_HOSTS={a.example: {}, A.example: {}}",
		 "PGKB_CRAWL_HOSTS: crawl.hosts.\"A.example\": duplicate host"},
		{"PGKB_CRAWL_HOSTS=docs.example.com",
		 "PGKB_CRAWL_HOSTS: crawl.hosts: expected a mapping of host names to {concurrency: N, delay: D}, got "
		 "\"docs.example.com\""},
		{"PGKB_CRAWL_HOSTS={a.example: ",
		 "PGKB_CRAWL_HOSTS: crawl.hosts: invalid YAML: did not find expected node content (while parsing a flow "
		 "node)"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *const e[] = {(char *)bad[i].env, NULL};
		ASSERT_INT_EQ(cfg_load(&c, NULL, e, &err), -1);
		ASSERT_STR_EQ(err, bad[i].want);
		ASSERT_TRUE(c.crawl_hosts == NULL);
		free(err);
	}
}

TEST(key_table_invariants)
{
	char env_a[64], env_b[64];
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		ASSERT_TRUE(k->doc && *k->doc);
		ASSERT_TRUE(cfg_key_find(k->path) == k);
		if (i > 0) {
			const char *prev = cfg_keys[i - 1].path;
			size_t sec = (size_t)(strchr(k->path, '.') - k->path);
			bool same = strncmp(prev, k->path, sec + 1) == 0;
			if (same && strcmp(prev, k->path) >= 0)
				TEST_FAIL_AT("%s is not after %s (keep each section alphabetical)", k->path, prev);
			for (size_t j = 0; !same && j + 1 < i; j++)
				if (strncmp(cfg_keys[j].path, k->path, sec + 1) == 0)
					TEST_FAIL_AT("section of %s is split", k->path);
		}
		cfg_key_env_name(k, env_a, sizeof env_a);
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg_key_env_name(&cfg_keys[j], env_b, sizeof env_b), env_a) == 0)
				TEST_FAIL_AT("%s and %s share %s", cfg_keys[j].path, k->path, env_a);
	}
	ASSERT_STR_EQ(cfg_key_env_name(cfg_key_find("workers.crawl.processes"), env_a, sizeof env_a),
	              "PGKB_WORKERS_CRAWL_PROCESSES");
	/* log.level stores what log_level_parse returns. */
	const struct cfg_key *lv = cfg_key_find("log.level");
	for (int i = 0; lv->choices[i]; i++)
		ASSERT_INT_EQ(log_level_parse(lv->choices[i]), i);
}

TEST(worker_kind_names)
{
	ASSERT_STR_EQ(cfg_worker_kind_name(CFG_WORKER_CRAWL), "crawl");
	ASSERT_STR_EQ(cfg_worker_kind_name(CFG_WORKER_INGEST), "ingest");
	ASSERT_STR_EQ(cfg_worker_kind_name(CFG_WORKER_EMBED), "embed");
	ASSERT_STR_EQ(cfg_worker_kind_name(CFG_WORKER_NOOP), "noop");
	ASSERT_STR_EQ(cfg_worker_kind_name(CFG_WORKER_KINDS), "unknown");
	for (int k = 0; k < CFG_WORKER_KINDS; k++) {
		char *path = xasprintf("workers.%s.processes", cfg_worker_kind_name((enum cfg_worker_kind)k));
		const struct cfg_key *key = cfg_key_find(path);
		ASSERT_TRUE(key && key->off == offsetof(struct cfg, workers) + (size_t)k * sizeof(struct cfg_worker) +
		                                   offsetof(struct cfg_worker, processes));
		free(path);
	}
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
