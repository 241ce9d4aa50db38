/* Configuration loading: defaults, then the YAML file, then PGKB_* and DATABASE_URL, then cross-field checks. */
#include "lib/cfg/cfg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/util/buf.h"
#include "lib/cfg/cfg_internal.h"
#include "lib/util/duration.h"
#include "lib/util/file.h"
#include "lib/util/mem.h"

#define CFG_FILE_MAX (1024 * 1024)

static const char *const worker_kind_names[CFG_WORKER_KINDS] = {"crawl", "ingest", "embed", "noop"};

const char *cfg_worker_kind_name(enum cfg_worker_kind kind)
{
	return (unsigned)kind < CFG_WORKER_KINDS ? worker_kind_names[kind] : "unknown";
}

void cfg_free(struct cfg *c)
{
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		if (k->type == CFG_STR || k->type == CFG_ENUM_STR)
			free(*(char **)(void *)((char *)c + k->off));
		else if (k->type == CFG_LIST)
			cfg_list_replace(c, k, NULL);
		else if (k->type == CFG_HOSTS)
			cfg_hosts_replace(c, k, NULL);
	}
	memset(c, 0, sizeof *c);
}

static size_t key_index(const struct cfg_key *k)
{
	return (size_t)(k - cfg_keys);
}

/* Value of NAME in envp ("NAME=value" strings), or NULL; the first one wins, as with getenv. */
static const char *env_lookup(char *const *envp, const char *name)
{
	size_t n = strlen(name);
	for (char *const *e = envp; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

static int apply_env(struct cfg_loader *ld, char *const *envp)
{
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		char name[64], *why = NULL;
		const char *v = env_lookup(envp, cfg_key_env_name(k, name, sizeof name));
		if (!v)
			continue;
		if (cfg_key_set(ld->cfg, k, v, &why) != 0) {
			if (k->type == CFG_HOSTS) /* the message starts with the path inside the mapping */
				ld->err = xasprintf("%s: %s", name, why);
			else
				ld->err = xasprintf("%s: %s: %s", name, k->path, why);
			free(why);
			return -1;
		}
		snprintf(ld->src[i].env, sizeof ld->src[i].env, "%s", name);
		if (strcmp(k->path, "database.url") == 0)
			ld->cfg->database_url_from_env = true;
	}
	const char *url = env_lookup(envp, "DATABASE_URL");
	if (url && *url) {
		const struct cfg_key *k = cfg_key_find("database.url");
		free(ld->cfg->database_url);
		ld->cfg->database_url = xstrdup(url);
		ld->cfg->database_url_from_env = true;
		snprintf(ld->src[key_index(k)].env, sizeof ld->src[0].env, "DATABASE_URL");
	}
	return 0;
}

/* How strongly the user set key k: 2 from the environment, 1 in the file, 0 left at its default. */
static int src_rank(const struct cfg_loader *ld, const struct cfg_key *k)
{
	const struct cfg_src *s = &ld->src[key_index(k)];
	return s->env[0] ? 2 : s->line ? 1 : 0;
}

/* Sets ld->err to "LOCATION: MESSAGE", located where the user set whichever of a and b they set last
 * (b on a tie); the message names the key to fix. */
__attribute__((format(printf, 4, 5))) static int check_fail(struct cfg_loader *ld, const char *a, const char *b,
                                                           const char *fmt, ...)
{
	const struct cfg_key *ka = cfg_key_find(a), *kb = cfg_key_find(b);
	const struct cfg_key *k = src_rank(ld, kb) >= src_rank(ld, ka) ? kb : ka;
	const struct cfg_src *s = &ld->src[key_index(k)];
	struct buf m = BUF_INIT;
	va_list ap;
	if (s->env[0])
		buf_printf(&m, "%s: ", s->env);
	else if (s->line)
		buf_printf(&m, "%s:%d: ", ld->file, s->line);
	char *msg;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	buf_puts(&m, msg);
	free(msg);
	ld->err = buf_steal(&m);
	return -1;
}

/* Rules between keys, checked once every source has been applied. */
static int check_cross(struct cfg_loader *ld)
{
	const struct cfg *c = ld->cfg;
	char a[DURATION_FMT_MAX], b[DURATION_FMT_MAX];
	if (c->chunk_overlap > c->chunk_size / 2)
		return check_fail(ld, "ingest.chunk_size", "ingest.chunk_overlap",
		                  "ingest.chunk_overlap: must be at most half of ingest.chunk_size (%d), got %d",
		                  c->chunk_size, c->chunk_overlap);
	if (c->restart_delay_min_ms > c->restart_delay_max_ms)
		return check_fail(ld, "supervisor.restart_delay_max", "supervisor.restart_delay_min",
		                  "supervisor.restart_delay_min (%s) must not exceed supervisor.restart_delay_max (%s)",
		                  duration_format(c->restart_delay_min_ms, a), duration_format(c->restart_delay_max_ms, b));
	if (c->fetch_connect_timeout_ms > c->fetch_timeout_ms)
		return check_fail(ld, "crawl.timeout", "crawl.connect_timeout",
		                  "crawl.connect_timeout (%s) must not exceed crawl.timeout (%s)",
		                  duration_format(c->fetch_connect_timeout_ms, a), duration_format(c->fetch_timeout_ms, b));
	if (strcmp(c->embed_provider, "builtin") != 0 && !*c->embed_base_url)
		return check_fail(ld, "embed.base_url", "embed.provider",
		                  "embed.base_url: must be set when embed.provider is %s (e.g. %s)", c->embed_provider,
		                  strcmp(c->embed_provider, "ollama") == 0 ? "http://localhost:11434"
		                                                           : "https://api.openai.com");
	return 0;
}

/* Defaults, then text (NULL: no file), then the environment, then the cross checks. */
static int load(struct cfg *out, const char *name, const char *text, size_t len, char *const *envp, char **err)
{
	struct cfg c;
	memset(&c, 0, sizeof c);
	cfg_set_defaults(&c);
	struct cfg_loader ld = {.cfg = &c, .file = name, .src = xcalloc(cfg_nkeys, sizeof(struct cfg_src))};
	int rc = text ? cfg_yaml_apply(&ld, text, len) : 0;
	if (rc == 0)
		rc = apply_env(&ld, envp);
	if (rc == 0)
		rc = check_cross(&ld);
	free(ld.src);
	if (rc != 0) {
		cfg_free(&c);
		memset(out, 0, sizeof *out);
		*err = ld.err ? ld.err : xasprintf("%s: invalid configuration", name);
		return -1;
	}
	*out = c;
	return 0;
}

int cfg_load_string(struct cfg *cfg, const char *name, const char *text, size_t len, char *const *envp, char **err)
{
	return load(cfg, name ? name : "<string>", text ? text : "", text ? len : 0, envp, err);
}

/* Reads the whole file; returns a heap buffer (NUL-terminated) or NULL with *err set. */
static char *read_file(const char *path, size_t *len, char **err)
{
	char *data;
	struct file_error e;
	if (file_read(path, CFG_FILE_MAX, 0, &data, len, &e) == 0)
		return data;
	if (e.fault == FILE_DIRECTORY)
		*err = xasprintf("%s: is a directory, not a configuration file", path);
	else if (e.fault == FILE_TOO_LARGE)
		*err = xasprintf("%s: larger than %d bytes; is this the right file?", path, CFG_FILE_MAX);
	else
		*err = file_error_message(path, CFG_FILE_MAX, &e);
	return NULL;
}

int cfg_load(struct cfg *cfg, const char *path, char *const *envp, char **err)
{
	size_t len = 0;
	char *text = NULL;
	if (path && !(text = read_file(path, &len, err))) {
		memset(cfg, 0, sizeof *cfg);
		return -1;
	}
	int rc = load(cfg, path ? path : "<defaults>", text, len, envp, err);
	free(text);
	return rc;
}
