/* Configuration internals shared by the lib/cfg/cfg*.c files (and the cfg unit test); not for other modules. */
#ifndef PGKB_CFG_INTERNAL_H
#define PGKB_CFG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/cfg/cfg.h"

enum cfg_type {
	CFG_INT,      /* int, min..max or one of `oneof` */
	CFG_BOOL,     /* bool: true|false|yes|no|on|off|1|0 */
	CFG_STR,      /* char *, optionally validated by `check` */
	CFG_DURATION, /* int64_t milliseconds, see duration.h */
	CFG_BYTES,    /* int64_t bytes: "10MB", "512KiB", plain integers */
	CFG_LIST,     /* char **, NULL-terminated, never NULL; each item validated by `check` */
	CFG_ENUM_INT, /* int: index into `choices` */
	CFG_ENUM_STR, /* char *: the canonical name from `choices` */
	CFG_HOSTS,    /* struct cfg_host *, ended by host == NULL, never NULL: crawl.hosts (a YAML mapping) */
};

#define CFG_SECRET 1u     /* never echo the value in a message */
#define CFG_LIST_COMMA 2u /* CFG_LIST from the environment: comma-separated, not colon (IPv6 has colons) */

struct cfg_key {
	const char *path; /* "queue.batch_size" */
	enum cfg_type type;
	size_t off;       /* offset of the field in struct cfg */
	const char *def;  /* default, as text that the key's own parser accepts */
	int64_t min, max; /* CFG_INT, CFG_DURATION, CFG_BYTES */
	const char *const *choices; /* CFG_ENUM_*: NULL-terminated names */
	const int *oneof;           /* CFG_INT: 0-terminated allowed values instead of min..max */
	/* CFG_STR, CFG_LIST items: NULL when v is acceptable, else what was expected ("an absolute path") */
	const char *(*check)(const char *v);
	unsigned flags;
	const char *doc; /* one line, for the example file and the README */
};

extern const struct cfg_key cfg_keys[];
extern const size_t cfg_nkeys;

/* The key with this exact path, or NULL. */
const struct cfg_key *cfg_key_find(const char *path);
/* True when some key's path starts with prefix + "." (prefix "" is the top level). */
bool cfg_key_is_section(const char *prefix);
/* The key's environment variable name into out ("PGKB_QUEUE_BATCH_SIZE"); returns out. */
char *cfg_key_env_name(const struct cfg_key *k, char *out, size_t outsz);

/* Parses text as a value of key k and stores it in *c (freeing what it replaces); a list is colon-separated
 * (comma-separated with CFG_LIST_COMMA, blanks around items ignored),
 * CFG_HOSTS a YAML flow mapping ("" for none). Returns 0, or -1 with *why set to a heap "expected …, got
 * \"…\"" message (without location or key; for CFG_HOSTS, a message that starts with the key path of the
 * fault, such as crawl.hosts."a.example".delay: …). */
int cfg_key_set(struct cfg *c, const struct cfg_key *k, const char *text, char **why);
/* Parses text as a number of a CFG_INT, CFG_DURATION or CFG_BYTES key k, within k's limits, into *out.
 * Returns 0, or -1 with *why as for cfg_key_set. */
int cfg_key_parse_number(const struct cfg_key *k, const char *text, int64_t *out, char **why);
/* Validates one list item; returns 0, or -1 with *why as for cfg_key_set. */
int cfg_list_item_check(const struct cfg_key *k, const char *item, char **why);
/* Replaces the list of k with items (NULL-terminated, heap, ownership passes to *c). */
void cfg_list_replace(struct cfg *c, const struct cfg_key *k, char **items);
/* Replaces the crawl.hosts entries of k with hosts (ended by host == NULL, heap, ownership passes to *c). */
void cfg_hosts_replace(struct cfg *c, const struct cfg_key *k, struct cfg_host *hosts);
/* Checks a crawl.hosts key: a host as url_host() writes it, or "*." and a domain. Returns NULL and sets *canon
 * to its canonical heap form (lower case, IPv6 compressed), else what was expected. */
const char *cfg_host_pattern(const char *v, char **canon);
/* Heap description of what k accepts, e.g. "an integer from 1 to 10000". */
char *cfg_key_expected(const struct cfg_key *k);
/* Heap, printable, length-limited quoted copy of a user-supplied value for messages: "\"lots\"". */
char *cfg_quote(const char *v);
/* Sets every key of *c to its default (c must be zeroed or freed). */
void cfg_set_defaults(struct cfg *c);

/* Byte sizes: a plain integer, or an integer and a unit B, kB/KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB,
 * TiB (powers of 1024), units case-insensitive, one optional space between. Returns 0, or -1 on junk, negatives
 * and overflow. */
int cfg_bytes_parse(const char *s, int64_t *out);
/* Shortest exact form ("20MB", "512KiB", "1000"); returns out (at least 32 bytes). */
char *cfg_bytes_format(int64_t n, char *out, size_t outsz);

/* Checks used by the key table: NULL when v is acceptable, else what was expected. */
const char *cfg_check_absolute_path(const char *v);
const char *cfg_check_env_name(const char *v); /* "" or a variable name; rejects a pasted API key */
const char *cfg_check_http_url(const char *v);  /* "" or http(s)://… */
const char *cfg_check_listen(const char *v);    /* "" or host:port, IPv6 in brackets */
const char *cfg_check_model(const char *v);     /* non-empty printable ASCII */
const char *cfg_check_network(const char *v);   /* an IP network or address, see addr_net_parse */
const char *cfg_check_user_agent(const char *v); /* printable ASCII with "://" or '@' */

/* Heap copy of a libpq URI or key=value conninfo with any password replaced by "****". */
char *cfg_mask_conninfo(const char *dsn);

/* Where a key's effective value came from, for messages about it. */
struct cfg_src {
	int line;     /* line in the file, 0 when not set there */
	char env[64]; /* the environment variable that set it, or "" */
};

/* State of one load: the struct being filled, the file name for messages, key sources, the error. */
struct cfg_loader {
	struct cfg *cfg;
	const char *file;    /* name used in messages */
	struct cfg_src *src; /* cfg_nkeys entries, parallel to cfg_keys */
	char *err;           /* heap message once something failed */
};

/* Applies the YAML document in text[0..len) to ld->cfg. Returns 0, or -1 with ld->err set. */
int cfg_yaml_apply(struct cfg_loader *ld, const char *text, size_t len);
/* Sets the CFG_HOSTS key k of *c from text, a YAML document holding just the mapping (an environment value).
 * Returns 0, or -1 with *why as for cfg_key_set. */
int cfg_yaml_hosts(struct cfg *c, const struct cfg_key *k, const char *text, char **why);

#endif
