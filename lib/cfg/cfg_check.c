/* Value checks for configuration keys, byte sizes, and quoting of user-supplied values in messages. */
#include "lib/cfg/cfg_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/crawl/addr.h"
#include "lib/util/buf.h"
#include "lib/util/mem.h"
#include "lib/text/utf8.h"

const char *cfg_check_absolute_path(const char *v)
{
	return v[0] == '/' ? NULL : "an absolute path";
}

const char *cfg_check_env_name(const char *v)
{
	for (const char *p = v; *p; p++)
		if (!(isalpha((unsigned char)*p) || *p == '_' || (p > v && isdigit((unsigned char)*p))))
			return "the name of an environment variable (the variable holds the key; never put the key here)";
	return NULL;
}

/* True when v has only printable ASCII (no control characters that could split a header or a log line). */
static bool printable_ascii(const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return false;
	return true;
}

const char *cfg_check_http_url(const char *v)
{
	static const char *why = "an http:// or https:// URL, or \"\"";
	if (!*v)
		return NULL;
	if (!printable_ascii(v) || strchr(v, ' '))
		return why;
	if (strncmp(v, "http://", 7) == 0 && v[7])
		return NULL;
	if (strncmp(v, "https://", 8) == 0 && v[8])
		return NULL;
	return why;
}

const char *cfg_check_listen(const char *v)
{
	static const char *why = "host:port (e.g. 127.0.0.1:9187 or [::1]:9187), or \"\" for off";
	const char *colon = strrchr(v, ':');
	if (!*v)
		return NULL;
	if (!colon || !colon[1] || strlen(colon + 1) > 5 || !printable_ascii(v) || strchr(v, ' '))
		return why;
	for (const char *p = colon + 1; *p; p++)
		if (!isdigit((unsigned char)*p))
			return why;
	long port = strtol(colon + 1, NULL, 10);
	if (port < 1 || port > 65535)
		return why;
	if (v[0] == '[' ? colon == v || colon[-1] != ']' : memchr(v, ':', (size_t)(colon - v)) != NULL)
		return why; /* an IPv6 address needs brackets */
	return NULL;
}

const char *cfg_check_model(const char *v)
{
	return *v && printable_ascii(v) ? NULL : "a model name of printable ASCII";
}

const char *cfg_check_network(const char *v)
{
	struct addr_net n;
	if (addr_net_parse(v, &n) == 0)
		return NULL;
	return "an IP address or a network in CIDR form with no host bits set (127.0.0.0/8, ::1/128, 10.1.2.3)";
}

const char *cfg_check_user_agent(const char *v)
{
	if (printable_ascii(v) && (strstr(v, "://") || strchr(v, '@')))
		return NULL;
	return "a User-Agent of printable ASCII with a contact URL or e-mail address";
}

char *cfg_quote(const char *v)
{
	enum { LIMIT = 60 };
	size_t len = strlen(v), cut = len > LIMIT ? utf8_floor(v, len, LIMIT) : len;
	char *clean = utf8_clean_dup(v, cut);
	struct buf b = BUF_INIT;
	buf_putc(&b, '"');
	for (const unsigned char *p = (const unsigned char *)clean; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_printf(&b, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			buf_printf(&b, "\\x%02x", *p);
		else
			buf_putc(&b, (char)*p);
	}
	buf_puts(&b, cut < len ? "...\"" : "\"");
	free(clean);
	return buf_steal(&b);
}

struct bytes_unit {
	const char *name;
	int64_t mult;
};

static const struct bytes_unit bytes_units[] = {
	{"TiB", 1LL << 40}, {"TB", 1000000000000LL}, {"GiB", 1LL << 30}, {"GB", 1000000000LL},
	{"MiB", 1LL << 20}, {"MB", 1000000LL},       {"KiB", 1LL << 10}, {"kB", 1000LL},
	{"KB", 1000LL},     {"B", 1LL},
};
#define BYTES_NUNITS (sizeof bytes_units / sizeof bytes_units[0])

int cfg_bytes_parse(const char *s, int64_t *out)
{
	const char *p = s;
	int64_t n = 0, mult = 1;
	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (n > (INT64_MAX - (*p - '0')) / 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
	if (*p == ' ' && *++p == '\0')
		return -1;
	if (*p) {
		size_t i = 0;
		while (i < BYTES_NUNITS && strcasecmp(p, bytes_units[i].name) != 0)
			i++;
		if (i == BYTES_NUNITS)
			return -1;
		mult = bytes_units[i].mult;
	}
	if (n > INT64_MAX / mult)
		return -1;
	*out = n * mult;
	return 0;
}

char *cfg_bytes_format(int64_t n, char *out, size_t outsz)
{
	for (size_t i = 0; n > 0 && i < BYTES_NUNITS - 1; i++) {
		if (n % bytes_units[i].mult == 0) {
			snprintf(out, outsz, "%lld%s", (long long)(n / bytes_units[i].mult), bytes_units[i].name);
			return out;
		}
	}
	snprintf(out, outsz, "%lld", (long long)n);
	return out;
}
